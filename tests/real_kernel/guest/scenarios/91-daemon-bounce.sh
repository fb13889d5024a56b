# timeout: 90
# A burst of toggles on `button` shorter than the debounce period is one
# press: the daemon receives one press event (its debug log names each edge
# it gets, so the busy state's own ignoring of presses cannot hide a
# debounce failure) and makes exactly one registration.
. /lib/enrolld-test/lib.sh

start_standin || fail "the stand-in did not start: $(tail -n 3 "$RK_RUN/standin.log")"
release_button
start_daemon button --verbose || fail "the daemon did not reach idle: $(daemon_tail)"
for _ in 1 2 3 4 5; do press_button; release_button; done
press_button
wait_for_state registered 40 || fail "no registered state: $(daemon_tail)"
release_button
wait_for_state idle 10 || fail "registered did not return to idle: $(daemon_tail)"
# Anything the burst could still start would have started by now.
usleep 1500000
expect_registrations 1 "one bouncing press"
grep -q '"state": *"idle"' "$RK_STATUS" || fail "not idle after the burst: $(status_field state)"
presses=$(grep -c 'press, edge at' "$RK_RUN/daemon.log")
[ "$presses" = 1 ] || fail "the daemon received $presses press events from one bouncing press"
stop_daemon_cleanly
result PASS "11 edges within the debounce period -> 1 press event, 1 registration"
