# timeout: 150
# IDMeta unreachable (the stand-in's port closed): three presses are queued
# (queued pattern, queue depth 3 in the status file); when it is back the
# queue delivers all three, as three different people.
. /lib/enrolld-test/lib.sh

start_standin || fail "the stand-in did not start: $(tail -n 3 "$RK_RUN/standin.log")"
release_button
start_daemon || fail "the daemon did not reach idle: $(daemon_tail)"
standin_behaviour refuse || fail "the stand-in did not close its port"
stop=$RK_RUN/led.stop
rm -f "$stop"
for i in 1 2 3; do
    if [ "$i" = 3 ]; then
        watch_line 60000 led "$stop" >"$RK_RUN/led.runs" &
        watcher=$!
    fi
    pulse_button
    wait_for_file "$RK_STATUS" 40 "\"depth\": *$i,?\$" || fail "press $i: queue depth not $i: $(daemon_tail)"
    wait_for_state queued 10 || fail "press $i: no queued state: $(status_field state)"
    wait_ready_for_press 10 || fail "press $i: queued did not return to idle: $(status_field state)"
done
touch "$stop"
wait "$watcher"
runs=$(cat "$RK_RUN/led.runs")
# The third press: busy blinks, then the queued flashes (500 ms on, 1500 ms off).
why=$(runs_match queued "$runs") || fail "led after a queued press is not the queued blink: $why ($runs)"
expect_registrations 0 "while the stand-in refused connections"

standin_behaviour ok || fail "the stand-in did not reopen"
wait_registrations 3 60 || fail "only $(standin_registrations) of 3 delivered: $(daemon_tail)"
wait_for_file "$RK_STATUS" 20 '"depth": *0,?$' || fail "queue depth not back to 0"
usleep 1000000
expect_registrations 3 "after the stand-in came back"
people=$(standin_usernames | sort -u | wc -l)
[ "$people" = 3 ] || fail "the 3 deliveries are $people different people: $(standin_usernames | tr '\n' ' ')"
stop_daemon_cleanly
result PASS "3 presses queued (depth 3, led $runs), all 3 delivered once the stand-in was back, as $(standin_usernames | tr '\n' ' ')"
