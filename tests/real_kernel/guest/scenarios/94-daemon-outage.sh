# timeout: 150
# IDMeta unreachable (the stand-in's port closed): three presses are queued
# (queued pattern, queue depth 3 in the status file); when it is back the
# queue delivers all three.
. /lib/enrolld-test/lib.sh

start_standin || fail "the stand-in did not start: $(tail -n 3 "$RK_RUN/standin.log")"
release_button
start_daemon || fail "the daemon did not reach idle: $(daemon_tail)"
standin_behaviour refuse || fail "the stand-in did not close its port"
for i in 1 2 3; do
    pulse_button
    wait_for_file "$RK_STATUS" 40 "\"depth\": *$i,?\$" || fail "press $i: queue depth not $i: $(daemon_tail)"
    wait_for_state queued 10 || fail "press $i: no queued state: $(status_field state)"
done
# Queued: short flashes with long gaps (0.5 s on / 2 s off) while it is shown.
levels=$(sample_led 40 50)
shape=$(runs "$levels")
echo "$shape" | awk '{
    on = 0; off = 0
    for (i = 1; i <= NF; i++) { k = substr($i, 3) + 0; if ($i ~ /^1x/) { if (k > on) on = k } else if (k > off) off = k }
    exit !(on > 0 && off >= 2 * on) }' || fail "led while queued is not a slow blink: $shape"
expect_registrations 0 "while the stand-in refused connections"

standin_behaviour ok || fail "the stand-in did not reopen"
wait_registrations 3 60 || fail "only $(standin_registrations) of 3 delivered: $(daemon_tail)"
wait_for_file "$RK_STATUS" 20 '"depth": *0,?$' || fail "queue depth not back to 0"
usleep 1000000
expect_registrations 3 "after the stand-in came back"
stop_daemon_cleanly
result PASS "3 presses queued (depth 3, led $shape), all 3 delivered once the stand-in was back"
