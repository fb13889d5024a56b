# timeout: 150
# Reload. `systemctl reload enrolld` (SIGHUP) re-reads /etc/enrolld/enrolld.toml: the journal
# says so and the next press uses the new username template, in the same process. A broken
# file is refused (the journal names the key and line) and the old configuration is kept: the
# daemon keeps running under the same pid and the next press still uses the reloaded template.
. /usr/local/lib/enrolld-test/systemd.sh
restore() {
    write_config
    systemctl reload enrolld
}
trap restore EXIT

release_button
no_tickets || fail "a pending ticket could not be used up"
pid=$(unit_prop MainPID)
c=$(journal_mark)
write_config -e 's/^username_template = .*/username_template = "reloaded-{seq}"/'
systemctl reload enrolld || fail "systemctl reload failed"
wait_journal "$c" 20 'SIGHUP: .*reloaded' || fail "no reload in the journal: $(unit_journal "$c")"
press_and_register 40 || fail "no registration after the reload"
user=$(standin_usernames | tail -n 1)
case $user in reloaded-*) ;; *) fail "after the reload the press registered '$user', not reloaded-<seq>" ;; esac

c=$(journal_mark)
write_config -e 's/^username_template = .*/username_template = "reloaded-{seq}"\nnot_a_key = 1/'
systemctl reload enrolld || fail "systemctl reload (broken file) failed"
wait_journal "$c" 20 'SIGHUP: keeping the current configuration' || fail "the broken file was not refused: $(unit_journal "$c")"
refusal=$(journal_since "$c" -u enrolld -o cat | grep 'SIGHUP: keeping' | head -n 1)
printf '%s\n' "$refusal" | grep -q 'enrolld.toml:[0-9]*: terminal.not_a_key' || fail "the refusal does not name the key and line: $refusal"
[ "$(unit_prop ActiveState)" = active ] && [ "$(unit_prop MainPID)" = "$pid" ] ||
    fail "after the broken reload: $(unit_prop ActiveState), pid $(unit_prop MainPID) (was $pid)"
press_and_register 40 || fail "no registration after the refused reload"
user2=$(standin_usernames | tail -n 1)
case $user2 in reloaded-*) ;; *) fail "after the refused reload the press registered '$user2', not the kept reloaded-<seq>" ;; esac
result PASS "reloaded in pid $pid (press as $user), broken file refused ($refusal), old configuration kept (press as $user2)"
