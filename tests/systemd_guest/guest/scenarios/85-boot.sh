# boot: 2
# timeout: 180
# Boot. After the guest's reboot (`systemctl reboot` once the first boot's scenarios are
# done; the unit was left stopped) the enabled unit is up with no manual step: active, started
# in this boot before the scenarios began. The guest's real-time clock started in the past
# (QEMU -rtc base=...; nothing set the wall clock this time), so the daemon's clock gate holds:
# the status file says the clock is not plausible, and a press is queued, not sent. Once the
# wall clock is set, the queued enrollment is delivered. A later forward jump of the clock
# does not age an entry queued in this boot.
. /usr/local/lib/enrolld-test/systemd.sh

# set_clock: the host's time at QEMU's start plus this boot's uptime (after the build date).
set_clock() {
    local now
    now=$(sed -n 's/.*enrolld_test\.now=\([0-9]*\).*/\1/p' /proc/cmdline)
    date -u -s "@$((now + $(cut -d. -f1 /proc/uptime)))" >/dev/null
}
# Whatever happens here, the next scenario finds the clock set.
trap 'set_clock; standin_switch ok' EXIT

[ "$(cat "$SG_STATE/boot-id-1")" != "$(cat /proc/sys/kernel/random/boot_id)" ] || fail "this is not a new boot"
wait_unit active 60 || fail "after the reboot enrolld.service is $(unit_prop ActiveState): $(journalctl -b -u enrolld -o cat | tail -n 4 | tr '\n' ' ')"
[ "$(systemctl is-enabled enrolld)" = enabled ] || fail "enrolld.service is $(systemctl is-enabled enrolld) after the reboot"
started=$(unit_prop ActiveEnterTimestampMonotonic)
runner=$(systemctl show -p ExecMainStartTimestampMonotonic --value enrolld-test.service)
[ "$started" -gt 0 ] && [ "$started" -lt "$runner" ] ||
    fail "enrolld.service became active at ${started} us, not before the scenarios began (${runner} us)"
wait_for_state idle 30 || fail "not idle after boot: $(status_field state)"
# tmpfiles.d at boot: the encrypted token systemd-creds wrote world-readable is root-only now.
[ "$(stat -c '%a %U' /etc/enrolld/api-token.cred)" = "600 root" ] ||
    fail "after the boot api-token.cred is $(stat -c '%a %U' /etc/enrolld/api-token.cred), not 600 root"

[ "$(status_field clock_plausible)" = false ] ||
    fail "the daemon finds the wall clock $(date -u +%FT%TZ) plausible; the boot was meant to be in the past"
past=$(date -u +%FT%TZ)
release_button
n=$(standin_registrations)
c=$(journal_mark)
before=$(outcome_entries queued | grep -c .)
press_and_queue 1 || fail "the press in the past was not queued: $(unit_journal "$c")"
[ "$(status_object_field last_outcome code)" = queued ] || fail "last outcome $(status_object_field last_outcome code), not queued"
[ "$(outcome_entries queued | grep -c .)" = $((before + 1)) ] || fail "no new ENROLLD_OUTCOME=queued entry in the journal"
usleep 2000000
expect_registrations "$n" "while the clock was in the past"

set_clock || fail "cannot set the clock"
set_to=$(date -u +%FT%TZ)
wait_registrations $((n + 1)) 90 || fail "the queued enrollment was not delivered after the clock was set: $(unit_journal "$c")"
wait_for_file "$RK_STATUS" 20 '"depth": *0,?$' || fail "queue depth not back to 0"
[ "$(status_field clock_plausible)" = true ] || fail "the clock is still implausible to the daemon"

# Within one boot a forward jump of the wall clock (NTP correcting a plausible but wrong time)
# must not age what is queued: the daemon ages entries by CLOCK_BOOTTIME when they were made in
# this boot, which it knows from ENROLLD_BOOT_ID=%b (the unit hides /proc/sys). Two days ahead
# is past queue.max_age_secs (one day): aged by the wall clock, the entry would be dropped.
standin_switch refuse || fail "the stand-in did not close its port"
press_and_queue 1 || fail "the press was not queued while the stand-in refused"
n=$(standin_registrations)
date -u -s "@$(($(date +%s) + 2 * 86400))" >/dev/null || fail "cannot move the clock"
sleep 4
[ "$(status_object_field queue depth)" = 1 ] ||
    fail "after the clock jumped 2 days ahead the queue depth is $(status_object_field queue depth), not 1: $(unit_journal "$c")"
standin_switch ok || fail "the stand-in did not reopen"
wait_registrations $((n + 1)) 60 || fail "the entry queued before the clock jump was not delivered: $(unit_journal "$c")"
result PASS "up after the reboot with no manual step (active at $((started / 1000000)) s of uptime); clock at $past: press queued, not sent; clock set to $set_to: delivered; an entry queued before a 2-day clock jump kept and delivered"
