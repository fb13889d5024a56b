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
levels=$(sample_led 40 150)
daemon_alive || fail "the daemon died in fault: $(daemon_tail)"
vivid_bind || fail "/dev/video0 did not come back after binding vivid"

# SOS: dots (1 unit) and dashes (3 units) lit; over ~6 s at least six lit
# runs, and the inner ones of two lengths about 3:1.
shape=$(runs "$levels")
echo "$shape" | awk '{
    n = 0; for (i = 2; i < NF; i++) if ($i ~ /^1x/) { n++; len[n] = substr($i, 3) + 0 }
    if (n < 6) exit 1
    min = len[1]; max = len[1]
    for (i = 1; i <= n; i++) { if (len[i] < min) min = len[i]; if (len[i] > max) max = len[i] }
    exit !(max >= 2 * min) }' || fail "led in fault is not SOS-like: $shape"

wait_for_state idle 60 || fail "not back to idle after the camera returned: $(daemon_tail)"
pulse_button
wait_for_state registered 40 || fail "press after recovery did not register: $(daemon_tail)"
expect_registrations 1 "after recovery"
stop_daemon_cleanly
result PASS "fault with camera.ok false, led $shape; recovered to idle and registered"
