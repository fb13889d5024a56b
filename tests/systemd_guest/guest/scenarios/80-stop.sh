# timeout: 180
# Stop. `systemctl stop enrolld` while a registration is on the wire (the stand-in holds its
# answer 4 s): the daemon finishes it, the `led` line goes low while enrolld still holds it
# (read between two line-info reads: gpio-sim resets a released line to its pull, which is
# held high here, so a low level can only be the daemon driving it), and the unit stops within
# TimeoutStopSec with exit status 0 (Result=success); the line is released afterwards. The
# unit stays stopped (and enabled) for the reboot that follows.
. /usr/local/lib/enrolld-test/systemd.sh
restore() {
    drive_line led low
    standin_switch ok
}
trap restore EXIT

release_button
drive_line led high
standin_switch stall:4000 || fail "the stand-in did not take stall:4000"
n=$(standin_registrations)
c=$(journal_mark)
before=$(outcome_entries registered | grep -c .)
limit=$(unit_prop TimeoutStopUSec)
press
wait_for_state submitting 40 || fail "no submitting state: $(unit_journal "$c")"
wait_registrations $((n + 1)) 20 || fail "the registration did not reach the stand-in"
start=$(cut -d' ' -f1 /proc/uptime)
systemctl stop enrolld &
stopper=$!
wait_for_state stopping 10 || fail "no stopping state after systemctl stop: $(status_field state)"
usleep 300000
held=$(line_holder led) || fail "line_holder: $held"
wait "$stopper" || fail "systemctl stop failed"
took=$(awk -v a="$start" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }')
limit_s=$(($(systemd-analyze timespan "$limit" | sed -n 's/^ *μs: *//p') / 1000000))
awk -v t="$took" -v l="$limit_s" 'BEGIN { exit !(t < l) }' || fail "the stop took $took s, not within TimeoutStopSec ($limit)"
case $held in
"used=enrolld-indicator value=0") ;;
*) fail "while stopping with a registration in flight the led line reads '$held', expected held by enrolld-indicator and low" ;;
esac
[ "$(unit_prop ActiveState)" = inactive ] || fail "after stop the unit is $(unit_prop ActiveState)"
[ "$(unit_prop Result)" = success ] && [ "$(unit_prop ExecMainStatus)" = 0 ] ||
    fail "stop ended with Result=$(unit_prop Result), status $(unit_prop ExecMainStatus)"
after=$(line_holder led)
case $after in "free "*) ;; *) fail "led line not released after the stop: $after" ;; esac
expect_registrations $((n + 1)) "the registration in flight at the stop"
[ "$(outcome_entries registered | grep -c .)" = $((before + 1)) ] ||
    fail "the registration in flight did not end registered: $(unit_journal "$c")"
result PASS "stopped in $took s (TimeoutStopSec $limit) with status 0, led '$held' while stopping, then $after; the in-flight registration completed"
