# timeout: 60
# Through the GPIO character device (rk-gpio-edges, gpiocdev): lines found
# by name, an output a consumer drives is what gpio-sim's sysfs (and so
# watch_line) reads, and press_button / release_button arrive as rising and
# falling edge events (irq_sim's generic_handle_irq_safe path).
. /lib/enrolld-test/lib.sh
out=$RK_RUN/edges.out

release_button
rk-gpio-edges button led 4 >"$out" 2>&1 &
pid=$!
wait_for_file "$out" 20 '^(READY|ERROR)' || fail "rk-gpio-edges did not start: $(cat "$out")"
grep -q '^READY' "$out" || fail "$(cat "$out")"
[ "$(line_value led)" = 1 ] || fail "led driven active by the consumer, but sim_gpio reads $(line_value led)"
runs=$(watch_line 100)
case $runs in 1:*" "* | 0:*) fail "watch_line on the driven led: $runs (expected one high run)" ;; esac
for step in press_button release_button press_button release_button; do
    $step
    usleep 100000
done
wait_for_file "$out" 20 '^(DONE|TIMEOUT|ERROR)' || fail "no edge report: $(tr '\n' ' ' <"$out")"
wait "$pid"
got=$(sed -n 's/^EDGE //p' "$out" | tr '\n' ' ')
[ "$got" = "rising falling rising falling " ] || fail "edges: '$got' ($(tr '\n' ' ' <"$out"))"
[ "$(line_value led)" = 0 ] || fail "led still high after the consumer released it"
result PASS "$(sed -n 's/^READY //p' "$out"): led driven 1 read via sysfs, edges: $got"
