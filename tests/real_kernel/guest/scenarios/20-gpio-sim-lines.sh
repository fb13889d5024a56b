# timeout: 30
# The gpio-sim chip is live with its named lines, as the kernel's gpiolib
# itself reports them (debugfs lists each line's name from the same
# descriptor the character device's line-info ioctl reads).
. /lib/enrolld-test/lib.sh

chip=$(gpiosim_chip) || fail "gpio-sim chip has no chip_name (not live?)"
[ -c "/dev/$chip" ] || fail "/dev/$chip is not a character device"
n=$(ls -d "$(gpiosim_sysfs)"/sim_gpio* | wc -l)
[ "$n" = 8 ] || fail "$chip has $n simulated lines, expected 8"

grep -q debugfs /proc/mounts || mount -t debugfs none /sys/kernel/debug || fail "cannot mount debugfs"
# The chip's block in /sys/kernel/debug/gpio: from its header to the next chip.
block=$(awk -v c="$chip:" '$1 == c {p = 1; print; next} /^gpiochip/ {p = 0} p' /sys/kernel/debug/gpio)
echo "$block" | head -n 1 | grep -q "$RK_SIM_LABEL" || fail "debugfs has no chip $chip labelled $RK_SIM_LABEL"
for name in $RK_SIM_LINES; do
    echo "$block" | grep -q "($name " || fail "gpiolib reports no line named '$name' on $chip"
done
others=$(ls /dev | grep -c '^gpiochip')
result PASS "$chip labelled $RK_SIM_LABEL with lines $RK_SIM_LINES ($others gpio chips in total)"
