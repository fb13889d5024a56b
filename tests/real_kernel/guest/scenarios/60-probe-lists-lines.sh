# timeout: 30
# `enrolld probe` reads the gpio-sim chip through the GPIO character device
# (line-info ioctls) and lists its named lines, whatever its chip number.
. /lib/enrolld-test/lib.sh

chip=$(gpiosim_chip)
out=$(enrolld probe 2>&1) || fail "enrolld probe failed: $(echo "$out" | tail -n 3)"
echo "$out" | grep -q "^/dev/$chip \[$RK_SIM_LABEL\] $chip - 8 lines" ||
    fail "probe has no header for /dev/$chip [$RK_SIM_LABEL]: $(echo "$out" | head -n 3)"
for name in $RK_SIM_LINES; do
    echo "$out" | grep -q "\"$name\".*free" || fail "probe does not list a free line \"$name\""
done
chips=$(echo "$out" | grep -c '^/dev/gpiochip')
[ "$chips" = "$(ls /dev | grep -c '^gpiochip')" ] || fail "probe lists $chips chips, /dev has $(ls /dev | grep -c '^gpiochip')"
result PASS "probe lists /dev/$chip [$RK_SIM_LABEL] with $RK_SIM_LINES ($chips chips)"
