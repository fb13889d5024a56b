# timeout: 90
# A burst of toggles on `button` shorter than the debounce period is one
# press: the daemon receives one press event (its debug log names each edge
# it gets, so the busy state's own ignoring of presses cannot hide a
# debounce failure) and makes exactly one registration. The burst comes from
# the compiled guest tool in one tight loop and its real gaps are checked and
# reported: a burst made of shell commands can be slower than the debounce
# period on a loaded TCG guest, and then separate presses are right.
. /lib/enrolld-test/lib.sh

start_standin || fail "the stand-in did not start: $(tail -n 3 "$RK_RUN/standin.log")"
release_button
start_daemon button --verbose || fail "the daemon did not reach idle: $(daemon_tail)"
burst=$(bounce_button 11) || fail "the burst could not be made: $burst"
max_gap_us=$(echo "$burst" | sed -n 's/.*max_gap_us=\([0-9]*\).*/\1/p')
total_us=$(echo "$burst" | sed -n 's/.*total_us=\([0-9]*\).*/\1/p')
# The scenario proves debounce only if the whole burst fits in the period.
[ -n "$total_us" ] && [ "$total_us" -lt 250000 ] ||
    fail "the burst took ${total_us:-?} us, not within the 250 ms debounce: this run proves nothing ($burst)"
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
result PASS "11 edges in ${total_us} us (largest gap ${max_gap_us} us; debounce 250 ms) -> 1 press event, 1 registration"
