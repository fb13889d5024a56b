# timeout: 180
# The face check and a USB-camera-like device meet in the daemon: `enrolld run` with the camera
# on v4l2loopback (1280x720 MJPEG at 30 fps, real photos) and the face check on. A press while
# the camera sees no person (scikit-image's coffee, cat and brick photos) sends nothing to the
# stand-in and ends as a retake whose reason (no_face) is in the status file and the log, with
# nothing left in the queue; the format taken and the driver's frame rate are logged. (One face
# registering, byte for byte a fed frame: daemon-face-presence.)
. /lib/enrolld-test/lib.sh

feed_start mjpeg noface || fail "the feeder did not start: $(feed_tail)"
start_standin || fail "the stand-in did not start: $(tail -n 3 "$RK_RUN/standin.log")"
release_button
daemon_on_loopback mjpeg
start_daemon || fail "the daemon did not reach idle: $(daemon_tail)"

pulse_button
wait_for_file "$RK_STATUS" 60 '"last_reason": *"no_face"' ||
    fail "no face refusal in the status file: $(daemon_tail)"
wait_for_state idle 20 || fail "the refusal did not return to idle: $(daemon_tail)"
grep -q '"code": *"retake"' "$RK_STATUS" || fail "the last outcome is not a retake: $(grep -A2 last_outcome "$RK_STATUS" | tr '\n' ' ')"
expect_registrations 0 "a press in front of no person"
grep -q 'enrolld_face_reason=no_face' "$RK_RUN/daemon.log" || fail "the log has no enrolld_face_reason=no_face: $(daemon_tail)"
left=$(ls "$RK_DAEMON_DIR/queue" 2>/dev/null | grep -E '\.(bound|entry|sending)$' || true)
[ -z "$left" ] || fail "records left after a refusal: $left"
grep -q "$RK_CAM: MJPEG 1280x720 at .* fps" "$RK_RUN/daemon.log" ||
    fail "the daemon did not log the format it took and the frame rate: $(daemon_tail)"
checked=$(status_object_field face frames_checked)
[ "${checked:-0}" -ge 1 ] || fail "face.frames_checked is '$checked'"

check_clean_logs || fail "the token reached the daemon's output or status file"
stop_daemon_cleanly
result PASS "no person: retake (no_face, $checked frames checked, nothing sent nor left)"
