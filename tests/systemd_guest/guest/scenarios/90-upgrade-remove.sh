# boot: 2
# timeout: 300
# Upgrade and removal. Three enrollments queued while the stand-in is unreachable (its port
# closed, the same as stopped for the daemon; a restarted stand-in would have a new CA); then
# the newer build of the package (same binary, higher version) installed as README says:
# the service is restarted (new main pid, new version), the queue of 3 survives, and the local
# configuration (the conffile as edited) is kept. Once the stand-in takes requests again, all
# three are delivered. `apt remove` stops the service and removes the unit and the binary but
# keeps the conffile, the queue directory, the token and the user; `apt purge` also removes the
# conffile and the enablement state and leaves dpkg without a record of the package.
. /usr/local/lib/enrolld-test/systemd.sh
trap 'standin_switch ok' EXIT

arch=$(dpkg --print-architecture)
release_button
wait_unit active 30 || fail "the unit is $(unit_prop ActiveState)"
standin_switch refuse || fail "the stand-in did not close its port"
wait_for_file "$RK_STATUS" 30 '"depth": *0,?$' || fail "the queue is not empty to begin with: $(status_object_field queue depth)"
n=$(standin_registrations)
c=$(journal_mark)
for i in 1 2 3; do
    press_and_queue "$i" || fail "press $i: queue depth not $i: $(status_object_field queue depth); state $(status_field state); $(journal_since "$c" -u enrolld -o cat | grep -v 'not delivered' | tail -n 12 | tr '\n' ' ')"
done
old_version=$(dpkg-query -W -f='${Version}' enrolld)
old_pid=$(unit_prop MainPID)
config_sum=$(sha256sum <"$SG_CONFIG")
c=$(journal_mark)
cd /root/upgrade || fail "no /root/upgrade"
out=$(apt install -y ./enrolld_*_"$arch".deb 2>&1) || fail "apt install (upgrade) failed: $(printf '%s\n' "$out" | tail -n 5)"
new_version=$(dpkg-query -W -f='${Version}' enrolld)
dpkg --compare-versions "$new_version" gt "$old_version" || fail "still version $new_version after the upgrade"
wait_unit active 30 || fail "after the upgrade the unit is $(unit_prop ActiveState): $(unit_journal "$c")"
[ "$(unit_prop MainPID)" != "$old_pid" ] || fail "the upgrade did not restart the service (pid $old_pid)"
[ "$(sha256sum <"$SG_CONFIG")" = "$config_sum" ] || fail "the upgrade changed /etc/enrolld/enrolld.toml"
wait_for_file "$RK_STATUS" 30 '"depth": *3,?$' || fail "after the upgrade the queue depth is $(status_object_field queue depth), not 3"
expect_registrations "$n" "before the stand-in came back"
standin_switch ok || fail "the stand-in did not reopen"
wait_registrations $((n + 3)) 90 || fail "only $(($(standin_registrations) - n)) of 3 delivered after the upgrade"
wait_for_file "$RK_STATUS" 20 '"depth": *0,?$' || fail "queue depth not back to 0"
usleep 1000000
expect_registrations $((n + 3)) "after the stand-in came back"

out=$(apt remove -y enrolld 2>&1) || fail "apt remove failed: $(printf '%s\n' "$out" | tail -n 5)"
[ "$(unit_prop ActiveState)" = inactive ] || fail "after apt remove the unit is $(unit_prop ActiveState)"
[ "$(dpkg-query -W -f='${db:Status-Abbrev}' enrolld)" = "rc " ] || fail "after apt remove dpkg has '$(dpkg-query -W -f='${db:Status-Abbrev}' enrolld)'"
for gone in /usr/bin/enrolld /usr/lib/systemd/system/enrolld.service; do
    [ ! -e "$gone" ] || fail "apt remove left $gone"
done
for kept in "$SG_CONFIG" /var/lib/enrolld/queue /etc/enrolld/api-token.cred; do
    [ -e "$kept" ] || fail "apt remove deleted $kept"
done
id enrolld >/dev/null || fail "apt remove deleted user enrolld"
removed="is-enabled: $(systemctl is-enabled enrolld 2>&1 | head -n 1), wants link: $(readlink /etc/systemd/system/multi-user.target.wants/enrolld.service || echo none)"

out=$(apt purge -y enrolld 2>&1) || fail "apt purge failed: $(printf '%s\n' "$out" | tail -n 5)"
dpkg-query -W -f='${db:Status-Abbrev}' enrolld 2>/dev/null | grep -q '^[rci]' && fail "dpkg still knows enrolld after the purge"
for gone in "$SG_CONFIG" /etc/systemd/system/multi-user.target.wants/enrolld.service \
    /var/lib/systemd/deb-systemd-helper-enabled/enrolld.service.dsh-also; do
    [ ! -e "$gone" ] || fail "apt purge left $gone"
done
kept=
for k in /var/lib/enrolld /etc/enrolld/api-token.cred; do [ -e "$k" ] && kept="$kept $k"; done
id enrolld >/dev/null 2>&1 && kept="$kept user:enrolld"
result PASS "$old_version -> $new_version: restarted (pid $old_pid -> new), queue 3 kept and delivered, conffile kept; remove: stopped, unit and binary gone, conffile/queue/token/user kept ($removed); purge: conffile and enablement gone; left as README says:$kept"
