# timeout: 180
# Install steps 1-2 on a booted Debian with systemd as PID 1: the package (copied to /root,
# step 1) installed with `apt install ./enrolld_*_<arch>.deb` (step 2). Then: the user and
# groups from sysusers.d exist, /etc/enrolld is as tmpfiles.d makes it, the conffile is in
# place, the unit is enabled, the gpio chip belongs to group gpio (the package's udev rule);
# without a token the unit is not running, says why (its unmet condition naming the token
# file), and does not restart in a loop.
. /usr/local/lib/enrolld-test/systemd.sh

cd /root || fail "no /root"
out=$(apt install -y ./enrolld_*_"$(dpkg --print-architecture)".deb 2>&1) ||
    fail "apt install failed: $(printf '%s\n' "$out" | tail -n 5)"
log "$(printf '%s\n' "$out" | grep -E '^(Setting up|Created symlink)' | tr '\n' ' ')"
[ "$(dpkg-query -W -f='${Status}' enrolld)" = "install ok installed" ] || fail "dpkg does not list enrolld as installed"
version=$(dpkg-query -W -f='${Version}' enrolld)

# sysusers.d: a system user without login, its group, and the device groups.
IFS=: read -r _ _ uid gid _ home shell <<EOS
$(getent passwd enrolld)
EOS
[ -n "$uid" ] || fail "no user enrolld"
[ "$uid" -lt 1000 ] || fail "user enrolld has uid $uid, not a system uid"
[ "$shell" = /usr/sbin/nologin ] || fail "user enrolld has shell $shell"
[ "$(getent group enrolld | cut -d: -f3)" = "$gid" ] || fail "user enrolld's primary group is not group enrolld"
for g in gpio video; do getent group "$g" >/dev/null || fail "no group $g"; done

# tmpfiles.d and the conffile.
[ "$(stat -c '%a %U %G' /etc/enrolld)" = "755 root root" ] || fail "/etc/enrolld is $(stat -c '%a %U %G' /etc/enrolld)"
[ "$(stat -c '%a %U %G' /etc/enrolld/enrolld.toml)" = "644 root root" ] ||
    fail "/etc/enrolld/enrolld.toml is $(stat -c '%a %U %G' /etc/enrolld/enrolld.toml)"
dpkg-query -W -f='${Conffiles}' enrolld | grep -q ' /etc/enrolld/enrolld.toml ' || fail "enrolld.toml is not a conffile"

# The package's udev rule gave the chip that exists already to group gpio (postinst trigger).
chip=/dev/$(gpiosim_chip)
[ "$(stat -c '%a %G' "$chip")" = "660 gpio" ] || fail "$chip is $(stat -c '%a %U %G' "$chip"), not 660 root gpio"

# Enabled, but not started: no token.
[ "$(systemctl is-enabled enrolld)" = enabled ] || fail "enrolld.service is $(systemctl is-enabled enrolld), not enabled"
[ "$(unit_prop ActiveState)" = inactive ] || fail "without a token enrolld.service is $(unit_prop ActiveState)"
[ "$(unit_prop ConditionResult)" = no ] || fail "the unit's condition result is '$(unit_prop ConditionResult)'"
status=$(systemctl status enrolld 2>&1)
printf '%s\n' "$status" | grep -q 'ConditionPathExists=|/etc/enrolld/api-token' ||
    fail "systemctl status does not name the missing token: $(printf '%s\n' "$status" | tr '\n' ' ')"
why=$(printf '%s\n' "$status" | grep -m1 -E 'Condition|condition' | sed 's/^ *//')
# Longer than RestartSec=5s: nothing retries.
sleep 7
[ "$(unit_prop ActiveState)" = inactive ] && [ "$(unit_prop NRestarts)" = 0 ] ||
    fail "7 s later the unit is $(unit_prop ActiveState) with NRestarts=$(unit_prop NRestarts)"
# The journal has systemd's own words for a skipped start (its | conditions are not named).
skipped=$(journalctl -b -u enrolld -o cat | grep -m1 'skipped because') ||
    fail "the journal has no skipped start of enrolld.service: $(journalctl -b -u enrolld -o cat | tail -n 3 | tr '\n' ' ')"
result PASS "enrolld $version installed; user enrolld (uid $uid, $shell), groups enrolld gpio video; /etc/enrolld 755 root; $chip 660 gpio; enabled, inactive, 0 restarts: $why; journal: $skipped"
