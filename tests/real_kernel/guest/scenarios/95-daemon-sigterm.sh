# timeout: 90
# SIGTERM while the LED is lit (registered): exit status 0, the `led` line
# low afterwards and released (probe lists it free).
. /lib/enrolld-test/lib.sh

start_standin || fail "the stand-in did not start: $(tail -n 3 "$RK_RUN/standin.log")"
release_button
start_daemon || fail "the daemon did not reach idle: $(daemon_tail)"
pulse_button
wait_for_state registered 40 || fail "no registered state: $(daemon_tail)"
wait_line led 1 2 || fail "led not lit while registered"
stop_daemon
[ "$RK_DAEMON_CODE" = 0 ] || fail "exit status $RK_DAEMON_CODE after SIGTERM: $(daemon_tail)"
[ "$(line_value led)" = 0 ] || fail "led still high after the daemon exited"
enrolld probe 2>&1 | grep -q '"led".*free' || fail "led line not released after exit"
grep -q '"state": *"stopping"' "$RK_STATUS" || log "last status state: $(status_field state)"
result PASS "SIGTERM -> exit status 0, led low and free"
