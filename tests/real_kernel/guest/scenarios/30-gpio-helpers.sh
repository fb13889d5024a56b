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

# sample_led over a level change made while sampling (the led line is only
# driven from outside here because nothing has requested it yet).
drive_line led high
( usleep 300000; drive_line led low ) &
levels=$(sample_led 20 40)
wait
case $levels in 1*0) ;; *) fail "sample_led did not see high then low: $levels" ;; esac
shape=$(runs "$levels" | sed 's/x[0-9]*//g')
expect "runs shape" "1 0" "$shape"
expect "runs" "0x2 1x3 0x2" "$(runs 0011100)"

: >"$RK_RUN/later"
( usleep 200000; echo ready >"$RK_RUN/later" ) &
wait_for_file "$RK_RUN/later" 5 '^ready$' || fail "wait_for_file missed the pattern"
wait
if wait_for_file "$RK_RUN/never" 1; then fail "wait_for_file found a file that does not exist"; fi
line_offset nosuchline 2>/dev/null && fail "line_offset accepted an unknown line"
result PASS "button/presence/led driven and read through sim_gpio; led samples $(runs "$levels")"
