# timeout: 180
# Reach, and nothing more. Inside its sandbox the daemon holds its GPIO lines (through the
# chip it opened: DeviceAllow=char-gpiochip, group gpio) and the camera (the USB camera,
# /dev/video21, among its open files in streaming mode, and a capture registers: char-video4linux, group video).
# From the service's own mount namespace, as root and as user enrolld, /root and /home are
# empty and /etc and /usr are read-only while its state and runtime directories are writable
# (the same probes outside see the files and can write). Asked to read a CA file in /root or
# /home, to write its status to /etc or its queue under /usr, the daemon fails to start,
# naming the path, and does not restart in a loop.
. /usr/local/lib/enrolld-test/systemd.sh
trap daemon_back EXIT

pid=$(unit_prop MainPID)
for line in led button; do
    held=$(line_holder "$line") || fail "line_holder $line: $held"
    case $held in used=enrolld-*) ;; *) fail "line $line is '$held', not held by enrolld" ;; esac
done
[ "$(status_object_field gpio ok)" = true ] || fail "status: gpio not ok"

# The camera: with mode = "streaming" the daemon keeps it open after the first capture (it is
# open only during a capture otherwise, too briefly to be seen from outside).
c=$(journal_mark)
write_config -e '/^\[camera\]/a mode = "streaming"'
systemctl restart enrolld || fail "restart in streaming mode failed: $(unit_journal "$c")"
pid=$(unit_prop MainPID)
wait_for_state idle 30 || fail "not idle in streaming mode: $(unit_journal "$c")"
release_button
press_and_register 40 || fail "no registration in streaming mode: $(unit_journal "$c")"
ls -l "/proc/$pid/fd" 2>/dev/null | grep -q " $SG_CAMERA\$" ||
    fail "the daemon has no $SG_CAMERA open in streaming mode; its files: $(ls -l "/proc/$pid/fd" 2>&1 | sed 's/.* -> //' | tr '\n' ' ')"
[ "$(status_object_field camera ok)" = true ] || fail "status: camera not ok"
daemon_back
systemctl restart enrolld || fail "restart with the test configuration failed"

# Private files outside the sandbox, and what the probes can do outside it.
ensure_users
echo secret >/root/sg-secret
echo secret >/home/reception/sg-secret
cp "$SG_CA" /root/sg-ca.pem
cp "$SG_CA" /home/reception/sg-ca.pem
touch /etc/sg-probe && rm /etc/sg-probe && touch /usr/sg-probe && rm /usr/sg-probe || fail "the probe cannot write /etc or /usr even outside"

probe='for f in /root/sg-secret /home/reception/sg-secret; do cat "$f" >/dev/null 2>&1 && echo "read $f"; done
for d in /etc /usr; do touch "$d/sg-probe" 2>/dev/null && { rm -f "$d/sg-probe"; echo "wrote $d"; }; done
for d in /var/lib/enrolld /run/enrolld; do touch "$d/sg-probe" 2>/dev/null && rm -f "$d/sg-probe" || echo "cannot write $d"; done'
for who in root enrolld; do
    got=$(in_service_view "$who" "$probe" 2>&1) || fail "probe as $who in the service's namespace failed: $got"
    [ -z "$got" ] || fail "as $who in the service's view: $(printf '%s\n' "$got" | tr '\n' ' ')"
done
# ProtectHome=yes: nothing of /home at all, not even the user's directory.
for d in /home /root; do
    [ -z "$(in_service_view root "ls -A $d")" ] || fail "$d is not empty in the service's view: $(in_service_view root "ls -A $d" | tr '\n' ' ')"
done

# The daemon itself, asked to go there.
c=$(journal_mark)
n0=$(unit_prop NRestarts)
# refused <exit statuses> <what> <path>: the configuration just written must stop the start,
# and the journal must name the path.
refused() {
    restart_expecting_failure "$1" "$2"
    journal_since "$c" -u enrolld -o cat | grep -qF "$3" || fail "with $2 the journal does not name $3: $(unit_journal "$c")"
}
# not_written <what> <path>: with the configuration just written the daemon either refuses to
# start (73 or 78) or runs without that file; either way the journal says its directory is
# read-only and the file does not appear. Adds what happened to $WRITES.
WRITES=
not_written() {
    local how
    systemctl reset-failed enrolld.service 2>/dev/null
    systemctl restart enrolld.service 2>/dev/null
    # (The status file is written through a temporary file beside it: name the directory.)
    wait_journal "$c" 20 "${2%/*}/.*(read-only|Read-only)" || fail "with $1 the journal does not say ${2%/*} is read-only: $(unit_journal "$c")"
    if [ "$(unit_prop ActiveState)" = active ]; then
        how="runs, logs: $(journal_since "$c" -u enrolld -o cat | grep -m1 -F "${2%/*}")"
    else
        wait_unit failed 20 || fail "with $1 the unit is $(unit_prop ActiveState)"
        unit_prop ExecMainStatus | grep -qxE '73|78' || fail "with $1 the daemon exited with $(unit_prop ExecMainStatus)"
        how="refused to start ($(unit_prop ExecMainStatus))"
    fi
    [ ! -e "$2" ] || fail "with $1 the daemon made $2"
    WRITES="$WRITES; $1: $how"
    c=$(journal_mark)
}
write_config -e 's|^ca_file = .*|ca_file = "/root/sg-ca.pem"|'
refused 78 "api.ca_file in /root" /root/sg-ca.pem
write_config -e 's|^ca_file = .*|ca_file = "/home/reception/sg-ca.pem"|'
refused 78 "api.ca_file in /home" /home/reception/sg-ca.pem
# Longer than RestartSec=5s: a configuration error is not retried.
sleep 6
[ "$(unit_prop ActiveState)" = failed ] && [ "$(unit_prop NRestarts)" = "$n0" ] ||
    fail "after the refused starts: $(unit_prop ActiveState), NRestarts $(unit_prop NRestarts) (was $n0)"
c=$(journal_mark)
config_with '[status]
path = "/etc/enrolld/sg-status.json"'
not_written "status.path in /etc" /etc/enrolld/sg-status.json
write_config -e '/^\[queue\]/a dir = "/usr/lib/enrolld-queue"'
not_written "queue.dir under /usr" /usr/lib/enrolld-queue
systemctl stop enrolld
daemon_back
wait_unit active 30 || fail "not active again with the test configuration: $(unit_journal "$c")"
result PASS "lines held by enrolld, $SG_CAMERA open (streaming mode) and a capture registered; in the service's view (root and enrolld) /root and /home empty, /etc and /usr read-only, state and runtime writable; ca_file in /root and /home refused (78), no restart$WRITES"
