# timeout: 180
# Install steps 3-5: the token as a root-only file (step 3), `enrolld probe`, the config edit
# and its check (step 4), `systemctl enable --now enrolld` (step 5). `systemctl start` returns
# only after READY=1 (the unit is active the moment it returns), StatusText carries the
# daemon's STATUS= line, the daemon runs as user enrolld with groups gpio and video, its
# directories have the unit's modes, and `systemd-analyze security` on the live unit scores at
# most 1.6. Then step 3's other form: the token encrypted with `systemd-creds encrypt` and a
# LoadCredentialEncrypted= drop-in, the plain file gone; the daemon restarts on it, and keeps
# it for the rest of the run (the next scenarios' registrations prove the token arrives).
. /usr/local/lib/enrolld-test/systemd.sh

token=$(cat "$SG/token")
# Step 3: `systemd-ask-password -n ... > /etc/enrolld/api-token` under umask 077 (typed here).
(umask 077 && printf '%s' "$token" >/etc/enrolld/api-token)
[ "$(stat -c '%a %U' /etc/enrolld/api-token)" = "600 root" ] || fail "api-token is $(stat -c '%a %U' /etc/enrolld/api-token)"

# Step 4.
probe=$(enrolld probe 2>&1) || fail "enrolld probe failed: $(printf '%s\n' "$probe" | tail -n 3)"
printf '%s\n' "$probe" | grep -q 'enroll-sim' || fail "enrolld probe does not list the enroll-sim chip: $probe"
printf '%s\n' "$probe" | grep -q "$SG_CAMERA" || fail "enrolld probe does not list the camera $SG_CAMERA: $probe"
write_config
# check-config needs the token; by hand it has no credential (only the unit gets one), so it
# runs with the credential the unit would give it.
plain=$(enrolld check-config 2>&1)
log "\`enrolld check-config\` by hand: status $?: $(printf '%s\n' "$plain" | head -n 2 | tr '\n' ' ')"
checked=$(systemd-run --quiet --pipe --wait -p LoadCredential=api-token:/etc/enrolld/api-token \
    enrolld check-config 2>&1) || fail "check-config with the token as credential: $(printf '%s\n' "$checked" | tail -n 3)"
printf '%s\n' "$checked" | grep -q 'api token: \[redacted\], from' || fail "check-config does not name the token's source: $checked"
log "$(printf '%s\n' "$checked" | grep -E 'api token|terminal id' | tr '\n' ' ')"

# Step 5. Type=notify: start returns once the daemon sent READY=1, so it is active right away.
c=$(journal_mark)
out=$(systemctl enable --now enrolld 2>&1) || fail "systemctl enable --now: $out; $(unit_journal "$c")"
state="$(unit_prop ActiveState)/$(unit_prop SubState)"
[ "$state" = active/running ] || fail "systemctl start returned with the unit $state, not active/running"
text=$(unit_prop StatusText)
printf '%s\n' "$text" | grep -qE '^idle; [0-9]+ registered; queue [0-9]+; tickets [0-9]+$' ||
    fail "StatusText is '$text', not the daemon's STATUS= line"

pid=$(unit_prop MainPID)
[ "$(ps -o user= -p "$pid")" = enrolld ] || fail "the daemon runs as $(ps -o user= -p "$pid")"
groups=$(sed -n 's/^Groups:\t*//p' "/proc/$pid/status")
for g in gpio video; do
    echo " $groups " | grep -q " $(getent group "$g" | cut -d: -f3) " || fail "the daemon is not in group $g (Groups: $groups)"
done
[ "$(stat -c '%a %U %G' /var/lib/enrolld)" = "700 enrolld enrolld" ] || fail "/var/lib/enrolld is $(stat -c '%a %U %G' /var/lib/enrolld)"
[ "$(stat -c '%a %U %G' /run/enrolld)" = "750 enrolld enrolld" ] || fail "/run/enrolld is $(stat -c '%a %U %G' /run/enrolld)"
wait_for_file "$RK_STATUS" 10 || fail "no status file"
[ "$(stat -c '%a %U %G' "$RK_STATUS")" = "640 enrolld enrolld" ] || fail "$RK_STATUS is $(stat -c '%a %U %G' "$RK_STATUS")"

security=$(systemd-analyze security --no-pager enrolld.service 2>&1)
score=$(printf '%s\n' "$security" | sed -n 's/.*Overall exposure level for enrolld.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || fail "no exposure level from systemd-analyze security: $(printf '%s\n' "$security" | tail -n 3)"
awk -v s="$score" 'BEGIN { exit !(s <= 1.6) }' || fail "exposure $score is over 1.6: $(printf '%s\n' "$security" | grep '✗' | head -n 5)"

# Step 3, encrypted: with the machine's credential key (no TPM here: the host key).
systemd-creds encrypt --name=api-token - /etc/enrolld/api-token.cred </etc/enrolld/api-token ||
    fail "systemd-creds encrypt failed"
mkdir -p "$SG_DROPINS"
printf '[Service]\nLoadCredential=\nLoadCredentialEncrypted=api-token:/etc/enrolld/api-token.cred\n' \
    >"$SG_DROPINS/override.conf"
systemctl daemon-reload
# README's check, `systemctl show -p LoadCredential -p LoadCredentialEncrypted enrolld`,
# prints "[unprintable]" for both on systemd 252: the drop-in is checked in the unit's text.
shown=$(systemctl show -p LoadCredential -p LoadCredentialEncrypted enrolld | tr '\n' ' ')
log "systemctl show -p LoadCredential -p LoadCredentialEncrypted: $shown"
unit_prop DropInPaths | grep -q "$SG_DROPINS/override.conf" || fail "the drop-in is not in effect: $(unit_prop DropInPaths)"
systemctl cat enrolld | tail -n 3 | grep -qx 'LoadCredentialEncrypted=api-token:/etc/enrolld/api-token.cred' ||
    fail "the drop-in does not end the unit: $(systemctl cat enrolld | tail -n 3 | tr '\n' ' ')"
mv /etc/enrolld/api-token /root/api-token.plain
c=$(journal_mark)
systemctl restart enrolld || fail "restart with the encrypted token failed: $(unit_journal "$c")"
[ "$(unit_prop ActiveState)" = active ] || fail "with the encrypted token the unit is $(unit_prop ActiveState)"
cmp -s /run/credentials/enrolld.service/api-token /root/api-token.plain ||
    fail "the credential the daemon got is not the token"
wait_for_state idle 30 || fail "not idle after the restart: $(unit_journal "$c")"
result PASS "started (active/running when start returned), StatusText '$text', user enrolld with gpio and video, exposure $score; encrypted token (api-token.cred $(stat -c %a /etc/enrolld/api-token.cred)) via drop-in: restarted, credential decrypted"
