# timeout: 240
# The face check and a USB-camera-like device meet in the daemon: `enrolld run` with the camera
# on v4l2loopback (1280x720 MJPEG at 30 fps, real photos) and the face check on; the format
# taken and the driver's frame rate are logged. Three presses on one running daemon:
# - the camera sees no person (scikit-image's coffee, cat and brick photos): nothing is sent,
#   no request of any kind reaches the stand-in (no create-verification either: the press has
#   no ticket, and the terminal asks for its own only once a frame passed), the press ends as a
#   retake whose reason (no_face) is in the status file and the log, with
#   nothing left in the queue;
# - the camera sends only damaged MJPEG (truncated, no EOI, garbage, zeros, in turn) while a
#   face is in front of it: no request of any kind, a retake with the reason unreadable, the damaged
#   frames counted under face.refused.unreadable;
# - whole frames of one well-placed face (the astronaut photo): one registration, and what the
#   stand-in received is one of the camera's own frames byte for byte (MJPEG passthrough with
#   the check on: the frame checked is the frame sent), on the same camera, never reopened.
. /lib/enrolld-test/lib.sh

# nothing_left <what>: no record of an enrollment left in the queue.
nothing_left() {
    local left
    left=$(ls "$RK_DAEMON_DIR/queue" 2>/dev/null | grep -E '\.(bound|entry|sending)$' || true)
    [ -z "$left" ] || fail "records left after $1: $left"
}

feed_start mjpeg noface || fail "the feeder did not start: $(feed_tail)"
start_standin || fail "the stand-in did not start: $(tail -n 3 "$RK_RUN/standin.log")"
release_button
daemon_on_loopback mjpeg
start_daemon || fail "the daemon did not reach idle: $(daemon_tail)"

calls=$(standin_requests)
pulse_button
wait_for_file "$RK_STATUS" 60 '"last_reason": *"no_face"' ||
    fail "no face refusal in the status file: $(daemon_tail)"
wait_ready_for_press 20 || fail "the refusal did not return to idle: $(daemon_tail)"
grep -q '"code": *"retake"' "$RK_STATUS" || fail "the last outcome is not a retake: $(grep -A2 last_outcome "$RK_STATUS" | tr '\n' ' ')"
expect_no_request_since "$calls" "a press in front of no person"
grep -q 'enrolld_face_reason=no_face' "$RK_RUN/daemon.log" || fail "the log has no enrolld_face_reason=no_face: $(daemon_tail)"
nothing_left "a press in front of no person"
# The camera is opened at the first press; the format taken is logged then.
grep -q "$RK_CAM: MJPEG 1280x720 at .* fps" "$RK_RUN/daemon.log" ||
    fail "the daemon did not log the format it took and the frame rate: $(daemon_tail)"
checked=$(status_object_field face frames_checked)
[ "${checked:-0}" -ge 1 ] || fail "face.frames_checked is '$checked'"

feed_set picture face || fail "the feeder did not switch to the face: $(feed_tail)"
feed_set damage truncated,no-eoi,garbage,zeros || fail "the feeder did not take the damage: $(feed_tail)"
calls=$(standin_requests)
pulse_button
wait_for_file "$RK_STATUS" 60 '"last_reason": *"unreadable"' ||
    fail "no unreadable refusal after a press on damaged frames: $(daemon_tail)"
wait_ready_for_press 20 || fail "the damaged press did not return to idle: $(daemon_tail)"
grep -q '"code": *"retake"' "$RK_STATUS" || fail "damaged frames did not end as a retake"
expect_no_request_since "$calls" "a press on damaged frames"
nothing_left "a press on damaged frames"
damaged=$(sed -n 's/^ *"unreadable": *\([0-9]*\).*/\1/p' "$RK_STATUS" | head -n 1)
[ "${damaged:-0}" -ge 1 ] || fail "face.refused.unreadable is '$damaged': $(grep -A14 '"refused"' "$RK_STATUS" | tr '\n' ' ')"

feed_set damage none || fail "the feeder did not take damage none: $(feed_tail)"
pulse_button
wait_registrations 1 60 || fail "a press in front of a face gave no registration: $(daemon_tail)"
wait_for_state idle 20 || fail "the registration did not return to idle: $(daemon_tail)"
expect_registrations 1 "one press in front of one face"
jpg=$(ls "$RK_RUN"/standin-jpeg/*.jpg)
[ "$(echo "$jpg" | wc -l)" = 1 ] || fail "stand-in saved: $jpg"
fed=$(fed_file_of "$jpg") || fail "the registered JPEG ($(wc -c <"$jpg") bytes) is none of the frames fed"
case $fed in face-*) ;; *) fail "the registered JPEG is $fed, not a face frame" ;; esac
export_file "$jpg" daemon-face-loopback.jpg

check_clean_logs || fail "the token reached the daemon's output or status file"
stop_daemon_cleanly
result PASS "no person: retake (no_face, $checked frames checked, nothing sent nor left); damaged frames: retake (unreadable, face.refused.unreadable=$damaged, nothing sent); one face: 1 registration, byte for byte $fed"
