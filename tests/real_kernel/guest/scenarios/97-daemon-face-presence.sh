# timeout: 180
# Presence mode with the face check on the USB-camera-like device: a passer-by who trips the
# presence sensor while the camera sees no person has nothing sent for the whole search
# (outcome "nobody", back to rest, no request of any kind: not even a create-verification); staying in front of the sensor does not
# search again; once gone past rearm_ms, a person whose face the camera sees registers once.
. /lib/enrolld-test/lib.sh

feed_start mjpeg noface || fail "the feeder did not start: $(feed_tail)"
start_standin || fail "the stand-in did not start: $(tail -n 3 "$RK_RUN/standin.log")"
set_presence 0
daemon_on_loopback mjpeg
start_daemon presence || fail "the daemon did not reach idle: $(daemon_tail)"

calls=$(standin_requests)
set_presence 1
wait_for_file "$RK_STATUS" 60 '"code": *"nobody"' ||
    fail "a presence in front of no person did not end as nobody: $(daemon_tail)"
wait_for_state idle 20 || fail "nobody did not return to idle: $(daemon_tail)"
grep -q '"last_reason": *"no_face"' "$RK_STATUS" || fail "no no_face reason in the status file"
usleep 3000000
expect_no_request_since "$calls" "a presence in front of no person, staying"

set_presence 0
feed_set picture face || fail "the feeder did not switch to the face: $(feed_tail)"
usleep 2500000
set_presence 1
wait_registrations 1 60 || fail "a presence in front of a face gave no registration: $(daemon_tail)"
wait_for_state idle 20 || fail "the registration did not return to idle: $(daemon_tail)"
set_presence 0
expect_registrations 1 "one presence in front of one face"
jpg=$(ls "$RK_RUN"/standin-jpeg/*.jpg)
fed=$(fed_file_of "$jpg") || fail "the registered JPEG is none of the frames fed"
stop_daemon_cleanly
result PASS "no person: nobody, nothing sent, none while staying; a face after rearm: 1 registration ($fed)"
