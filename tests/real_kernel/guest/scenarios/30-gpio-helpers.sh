# timeout: 30
# The helpers the daemon scenarios use move and read the simulated lines.
. /lib/enrolld-test/lib.sh

expect() { # description expected actual
    [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}
expect "button idle" 0 "$(line_value button)"
press_button
expect "button pressed" 1 "$(line_value button)"
release_button
expect "button released" 0 "$(line_value button)"
set_presence 1
expect "presence on" 1 "$(line_value presence)"
set_presence 0
expect "presence off" 0 "$(line_value presence)"

# watch_line over a pulse made while watching (the led line is only driven from
# outside here because nothing has requested it yet). The pulse starts 500 ms into
# the watch and is measured between its two edges, so how late the watcher itself
# started (a loaded TCG guest) does not shorten it.
drive_line led low
( usleep 500000; drive_line led high; usleep 300000; drive_line led low ) &
runs=$(watch_line 1500)
wait
shape=$(echo "$runs" | sed 's/:[0-9]*//g')
expect "watched levels" "0 1 0" "$shape"
high=$(echo "$runs" | sed 's/^0:[0-9]* 1:\([0-9]*\) .*/\1/')
[ "$high" -ge 250 ] || fail "watch_line measured $high ms high, driven for at least 300"

# runs_match itself: the pattern table's own runs pass, wrong ones fail.
sos="0:40 1:170 0:170 1:170 0:170 1:170 0:510 1:510 0:170 1:510 0:170 1:510 0:510 1:170 0:170 1:170 0:170 1:170 0:1190 1:170 0:20"
check "runs_match fault (table)" runs_match fault "$sos"
check "runs_match fault (loaded guest: one late wake-up)" runs_match fault "$(echo "$sos" | sed 's/1:510 0:170 1:510/1:510 0:170 1:690/')"
if runs_match fault "0:40 1:170 0:170 1:340 0:170 1:170 0:170 1:340 0:170 1:170 0:170 1:340 0:170 1:170 0:20" >/dev/null; then
    fail "runs_match accepted a 2:1 blink as SOS"
fi
if runs_match fault "$(echo "$sos" | sed 's/1:170/1:230/g')" >/dev/null; then
    fail "runs_match accepted dots of 230 ms as SOS (table: 170)"
fi
check "runs_match queued" runs_match queued "0:900 1:250 0:250 1:250 0:250 1:500 0:1500 1:500 0:4000"
check "runs_match queued (run on from busy)" runs_match queued "1:442 0:253 1:251 0:249 1:691 0:1502 1:501 0:589"
if runs_match queued "0:900 1:250 0:250 1:250 0:250 1:250 0:250 1:250 0:30" >/dev/null; then
    fail "runs_match accepted the busy 2 Hz blink as queued"
fi
check "runs_match registered" runs_match registered "0:500 1:250 0:250 1:250 0:250 1:3000 0:300"
if runs_match registered "0:500 1:250 0:250 1:250 0:250 1:1000 0:300" >/dev/null; then
    fail "runs_match accepted a 1 s solid run as registered (table: 3 s)"
fi
if runs_match registered "0:500 1:125 0:125 1:125 0:125 1:125 0:125 1:3000 0:300" >/dev/null; then
    fail "runs_match accepted 4 Hz busy blinks (table: 2 Hz)"
fi

: >"$RK_RUN/later"
( usleep 200000; echo ready >"$RK_RUN/later" ) &
wait_for_file "$RK_RUN/later" 5 '^ready$' || fail "wait_for_file missed the pattern"
wait
if wait_for_file "$RK_RUN/never" 1; then fail "wait_for_file found a file that does not exist"; fi
line_offset nosuchline 2>/dev/null && fail "line_offset accepted an unknown line"
result PASS "button/presence/led driven and read through sim_gpio; led watched $runs; runs_match checked"
