# timeout: 120
# trigger.kind = "presence" on the `presence` line (hold_ms 1500, rearm_ms
# 1500): a short presence does nothing, a long one registers once, staying
# present does not register again, absence past rearm_ms and presence again
# registers a second time.
. /lib/enrolld-test/lib.sh

start_standin || fail "the stand-in did not start: $(tail -n 3 "$RK_RUN/standin.log")"
set_presence 0
start_daemon presence || fail "the daemon did not reach idle: $(daemon_tail)"
# The short presence is timed by the guest tool: made of shell commands it
# could outlast hold_ms on a loaded guest.
held=$(hold_line presence 500) || fail "hold_line: $held"
held_ms=$(($(echo "$held" | sed -n 's/^HELD us=\([0-9]*\)$/\1/p') / 1000))
[ "$held_ms" -lt 1200 ] || fail "the short presence lasted $held_ms ms, not under hold_ms (1500): this run proves nothing"
usleep 2500000
expect_registrations 0 "presence for $held_ms ms (< hold_ms 1500)"
grep -q '"state": *"idle"' "$RK_STATUS" || fail "short presence left state $(status_field state)"

set_presence 1
wait_registrations 1 30 || fail "held presence gave no registration: $(daemon_tail)"
wait_for_state registered 20 || fail "no registered state: $(daemon_tail)"
wait_for_state idle 10 || fail "registered did not return to idle"
usleep 3000000
expect_registrations 1 "still present"

set_presence 0
usleep 2500000
set_presence 1
wait_registrations 2 30 || fail "presence after rearm gave no second registration: $(daemon_tail)"
wait_for_state registered 20 || fail "no second registered state"
set_presence 0
wait_for_state idle 10 || fail "second registered did not return to idle"
expect_registrations 2 "present again after rearm"
stop_daemon_cleanly
result PASS "${held_ms} ms presence: none; held: 1 and no second while held; again after rearm: 2"
