# timeout: 120
# SIGTERM, as systemd stops the service. While a registration is still on
# the wire the daemon keeps running to finish it, and the `led` line must be
# low while enrolld still holds it (read between two line-info reads: after
# the daemon exits gpio-sim resets the released line to its pull, so a check
# then could not fail). The stalled registration is completed, not dropped;
# exit status 0; the line is released.
. /lib/enrolld-test/lib.sh

start_standin || fail "the stand-in did not start: $(tail -n 3 "$RK_RUN/standin.log")"
release_button
start_daemon || fail "the daemon did not reach idle: $(daemon_tail)"
# The LED's pull is high from outside: a released line then reads 1, so a 0
# can only be the daemon driving it.
drive_line led high
standin_behaviour stall:4000 || fail "the stand-in did not take stall:4000"
pulse_button
wait_for_state submitting 40 || fail "no submitting state: $(daemon_tail)"
wait_registrations 1 20 || fail "the registration did not reach the stand-in: $(daemon_tail)"
kill -TERM "$RK_DAEMON_PID"
wait_for_state stopping 5 || fail "no stopping state after SIGTERM: $(status_field state)"
usleep 300000
held=$(line_holder led) || fail "line_holder: $held"
case $held in
"used=enrolld-indicator value=0") ;;
*) fail "while stopping with a registration in flight the led line reads '$held', expected held by enrolld-indicator and low" ;;
esac
wait "$RK_DAEMON_PID"
RK_DAEMON_CODE=$?
RK_DAEMON_PID=
[ "$RK_DAEMON_CODE" = 0 ] || fail "exit status $RK_DAEMON_CODE after SIGTERM: $(daemon_tail)"
after=$(line_holder led)
case $after in "free "*) ;; *) fail "led line not released after exit: $after" ;; esac
expect_registrations 1 "the registration in flight at SIGTERM"
code=$(status_object_field last_outcome code)
[ "$code" = registered ] || fail "the in-flight registration ended '$code', not registered: $(daemon_tail)"
result PASS "SIGTERM with a registration on the wire: led $held while stopping, exit 0, line $after"
