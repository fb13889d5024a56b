# timeout: 180
# The watchdog. With a drop-in shortening WatchdogSec= to 4 s, the daemon frozen by SIGSTOP
# stops pinging; systemd kills it (Result=watchdog) and restarts it: NRestarts goes up and the
# main pid changes. An enrollment queued before (stand-in refusing) and a pending ticket are
# still there after the restart, and the queue is delivered once the stand-in takes requests.
# The queue retries 20 s apart here (the test configuration's 0.5-1 s otherwise): the freeze must
# not land while a retry has the record in `.sending`, since a daemon killed then leaves it as an
# unknown delivery (it cannot know whether the request went out), not as a queued one. That
# window, the fsyncs of a retry under TCG, made this scenario fail once.
. /usr/local/lib/enrolld-test/systemd.sh
restore() {
    rm -f "$SG_DROPINS/watchdog.conf"
    systemctl daemon-reload
    standin_switch ok
    daemon_back
}
trap restore EXIT

printf '[Service]\nWatchdogSec=4s\n' >"$SG_DROPINS/watchdog.conf"
write_config -e 's/^backoff_base_ms = .*/backoff_base_ms = 20000/' -e 's/^backoff_max_ms = .*/backoff_max_ms = 20000/'
grep -q '^backoff_base_ms = 20000$' "$SG_CONFIG" || fail "the test configuration has no backoff_base_ms line to change"
systemctl daemon-reload
systemctl restart enrolld || fail "restart with the watchdog drop-in failed"
[ "$(unit_prop WatchdogUSec)" = 4s ] || fail "WatchdogUSec is $(unit_prop WatchdogUSec), not 4s"
wait_for_state idle 30 || fail "not idle after the restart"

ensure_users
release_button
standin_switch refuse || fail "the stand-in did not close its port"
n=$(standin_registrations)
press_and_queue 1 || fail "the press was not queued: $(status_field state)"
runuser -u reception -- enrolld enroll --username watchdog-ticket || fail "could not leave a ticket"
[ "$(tickets_pending)" = 1 ] || fail "$(tickets_pending) tickets pending before the freeze"

pid=$(unit_prop MainPID)
restarts=$(unit_prop NRestarts)
c=$(journal_mark)
kill -STOP "$pid"
wait_new_pid "$pid" 40 || fail "the frozen daemon ($pid) was not replaced within 40 s: $(unit_journal "$c")"
wait_unit active 30 || fail "after the watchdog the unit is $(unit_prop ActiveState)"
[ "$(unit_prop NRestarts)" = $((restarts + 1)) ] || fail "NRestarts $(unit_prop NRestarts), was $restarts"
journal_since "$c" -u enrolld -o cat | grep -q "Failed with result 'watchdog'" ||
    fail "systemd did not log a watchdog failure: $(journal_since "$c" -u enrolld -o cat | grep 'enrolld.service:' | tr '\n' ' ')"
kill -0 "$pid" 2>/dev/null && fail "the frozen process $pid is still there"

wait_for_state idle 30 || fail "not idle after the restart"
[ "$(status_object_field queue depth)" = 1 ] || fail "queue depth $(status_object_field queue depth) after the restart, expected 1"
[ "$(tickets_pending)" = 1 ] || fail "$(tickets_pending) tickets pending after the restart, expected 1"
expect_registrations "$n" "while the stand-in refused"
standin_switch ok || fail "the stand-in did not reopen"
wait_registrations $((n + 1)) 60 || fail "the queued enrollment was not delivered after the restart"
wait_for_file "$RK_STATUS" 20 '"depth": *0,?$' || fail "queue depth not back to 0"
press_and_register 40 || fail "the ticket's press did not register"
[ "$(standin_usernames | tail -n 1)" = watchdog-ticket ] || fail "the press after the restart was not the kept ticket's"
result PASS "SIGSTOP: killed by the watchdog and restarted (NRestarts $restarts -> $(unit_prop NRestarts), pid $pid -> $(unit_prop MainPID)); queue 1 and ticket kept, both delivered"
