# timeout: 150
# The camera is unplugged (vivid unbound) while the daemon is idle; a press
# then shows `fault` (camera.ok false) and SOS on the LED, and the daemon
# stays up. Plugged back, it returns to idle by itself and the next press
# registers, without a restart.
. /lib/enrolld-test/lib.sh

start_standin || fail "the stand-in did not start: $(tail -n 3 "$RK_RUN/standin.log")"
release_button
start_daemon || fail "the daemon did not reach idle: $(daemon_tail)"
vivid_unbind || fail "/dev/video0 still there after unbinding vivid"
pulse_button
wait_for_state fault 40 || { vivid_bind; fail "no fault state: $(daemon_tail)"; }
camera_ok=$(status_object_field camera ok)
[ "$camera_ok" = false ] || { vivid_bind; fail "fault, but camera.ok is '$camera_ok'"; }
runs=$(watch_line 6000)
daemon_alive || fail "the daemon died in fault: $(daemon_tail)"
vivid_bind || fail "/dev/video0 did not come back after binding vivid"

# SOS as the pattern table has it (170 ms unit): over 6 s at least one
# whole "... --- ..." with dots, dashes and gaps of the table's lengths.
why=$(runs_match fault "$runs") || fail "led in fault is not SOS: $why ($runs)"

wait_for_state idle 60 || fail "not back to idle after the camera returned: $(daemon_tail)"
pulse_button
wait_for_state registered 40 || fail "press after recovery did not register: $(daemon_tail)"
expect_registrations 1 "after recovery"
stop_daemon_cleanly
result PASS "fault with camera.ok false, led SOS $runs; recovered to idle and registered"
