# timeout: 240
# The face check as shipped: the package's default ([face] not configured: on), run by the
# hardened unit (SystemCallFilter=, ProcSubset=pid, MemoryDenyWriteExecute=, ...; the detector's thread
# pool and the embedded weights inside it), on real photos through the USB camera (v4l2loopback,
# 1280x720 MJPEG):
# - the camera sees no person (scikit-image's coffee, cat and brick photos): a press sends
#   nothing at all: no request of any kind reaches the stand-in (no create-verification, no
#   registration, no finalize); it ends as a retake whose reason, no_face, is in the status file
#   and in the journal entry's ENROLLD_FACE_REASON; no record is left;
# - the camera sees one well-placed face (the astronaut photo): a press registers once, after
#   one create-verification (the press has no ticket: the terminal makes its own), and what was
#   sent is one of the camera's frames byte for byte (MJPEG passed through: the frame checked is
#   the frame sent);
# - the terminal configured for a presence sensor (the `presence` line), the camera seeing no
#   person: a presence wake looks for a face until the deadline, ends as nobody (back to rest,
#   nothing shown) and sends nothing at all either.
. /usr/local/lib/enrolld-test/systemd.sh
trap 'camera_shows face; set_presence 0; daemon_back' EXIT

release_button
no_tickets || fail "a pending ticket could not be used up"
checked=$(status_object_field face frames_checked)
[ -n "$checked" ] || fail "the status file has no face section: the face check is off ($(grep -A3 '"face"' "$RK_STATUS" | tr '\n' ' '))"

# --- no person in front of the camera ---
camera_shows noface || fail "the camera did not switch to no person: $(feed_tail)"
c=$(journal_mark)
calls=$(standin_requests)
retakes=$(outcome_entries retake | grep -c .)
press
tenths=0
until [ "$(outcome_entries retake | grep -c .)" -gt "$retakes" ]; do
    [ "$tenths" -lt 600 ] || fail "a press in front of no person did not end as a retake: $(unit_journal "$c")"
    usleep 100000
    tenths=$((tenths + 1))
done
wait_for_state idle 20 || fail "the retake did not return to idle: $(status_field state)"
expect_no_request_since "$calls" "a press in front of no person"
entry=$(outcome_entries retake | tail -n 1)
printf '%s\n' "$entry" | grep -q '"ENROLLD_FACE_REASON":"no_face"' ||
    fail "the retake's journal entry does not name no_face: $(printf '%s\n' "$entry" | grep -o '"ENROLLD_[A-Z_]*":"[^"]*"' | tr '\n' ' ')"
grep -q '"last_reason": *"no_face"' "$RK_STATUS" || fail "face.last_reason is not no_face: $(grep -A8 '"face"' "$RK_STATUS" | tr '\n' ' ')"
left=$(find /var/lib/enrolld -name '*.bound' -o -name '*.entry' -o -name '*.sending' | tr '\n' ' ')
[ -z "$left" ] || fail "records left after a press in front of no person: $left"
refused=$(status_object_field face frames_checked)
[ "$refused" -gt "$checked" ] || fail "face.frames_checked did not grow ($checked -> $refused)"

# --- one well-placed face ---
camera_shows face || fail "the camera did not switch to the face: $(feed_tail)"
n=$(standin_registrations)
creates=$(standin_requests create_verification)
calls=$(standin_requests)
press_and_register 60 || fail "no registration after a press in front of a face: $(unit_journal "$c")"
usleep 1000000
expect_registrations $((n + 1)) "one press in front of a face"
[ "$(standin_requests create_verification)" = $((creates + 1)) ] ||
    fail "$(($(standin_requests create_verification) - creates)) create-verification requests for one press, expected 1"
[ "$(standin_requests)" = $((calls + 2)) ] ||
    fail "$(($(standin_requests) - calls)) requests for one press, expected 2 (create-verification, registration; api.finalize is off)"
jpeg=$(ls -t "$RK_RUN"/standin-jpeg/*.jpg | head -n 1)
fed=$(fed_file_of "$jpeg") || fail "the registered JPEG is none of the frames the camera sent"
case $fed in face-*) ;; *) fail "the registered JPEG is the camera's $fed, not a face" ;; esac

# --- a presence wake in front of no person ---
set_presence 0
write_config -e 's/^kind = "button"/kind = "presence"/' -e 's/^line = "button"/line = "presence"/' \
    -e 's/^debounce_ms = .*/debounce_ms = 50\nhold_ms = 1000\nrearm_ms = 1500/' -e '/^cooldown_ms = /d'
grep -q '^kind = "presence"$' "$SG_CONFIG" || fail "the test configuration has no trigger kind to change"
c=$(journal_mark)
systemctl restart enrolld || fail "restart with the presence sensor failed: $(unit_journal "$c")"
wait_for_state idle 30 || fail "not idle with the presence sensor: $(unit_journal "$c")"
camera_shows noface || fail "the camera did not switch to no person: $(feed_tail)"
calls=$(standin_requests)
nobody=$(outcome_entries nobody | grep -c .)
set_presence 1
tenths=0
until [ "$(outcome_entries nobody | grep -c .)" -gt "$nobody" ]; do
    [ "$tenths" -lt 600 ] || fail "a presence wake in front of no person did not end as nobody: $(unit_journal "$c")"
    usleep 100000
    tenths=$((tenths + 1))
done
set_presence 0
wait_for_state idle 20 || fail "nobody did not return to idle: $(status_field state)"
expect_no_request_since "$calls" "a presence wake in front of no person"
result PASS "no person: retake (no_face), no request of any kind; a face: create-verification + 1 registration of the camera's $fed byte for byte; a presence wake in front of no person: nobody, no request of any kind; frames checked $checked -> $(status_object_field face frames_checked)"
