# timeout: 180
# The control socket. /run/enrolld/control.sock is 0660 enrolld:enrolld in /run/enrolld
# (0750 enrolld:enrolld), as documented: a user in group enrolld can `enrolld enroll` (and
# that ticket names the next press's registration), a user outside it is refused. With
# `control.group = "enrolld"` set explicitly the daemon starts and the same holds; with a group
# the socket cannot have (the daemon, running as group enrolld, cannot chown: no privileges)
# it refuses to start, naming control.group, without a restart loop.
. /usr/local/lib/enrolld-test/systemd.sh
trap daemon_back EXIT

sock=/run/enrolld/control.sock
[ "$(stat -c '%A %U %G' "$sock")" = "srw-rw---- enrolld enrolld" ] || fail "$sock is $(stat -c '%A %U %G' "$sock")"
[ "$(stat -c '%A %U %G' /run/enrolld)" = "drwxr-x--- enrolld enrolld" ] || fail "/run/enrolld is $(stat -c '%A %U %G' /run/enrolld)"
ensure_users

# allowed_and_refused <label>: reception's ticket is taken, visitor's refused, the next press
# registers as the reception's ticket.
allowed_and_refused() {
    local out n name="ticket-$1"
    out=$(runuser -u reception -- enrolld enroll --username "$name" 2>&1) ||
        fail "$1: reception (group enrolld) could not enroll: $out"
    out=$(runuser -u visitor -- enrolld enroll --username "visitor-$1" 2>&1) &&
        fail "$1: visitor (not in group enrolld) could enroll: $out"
    printf '%s\n' "$out" | grep -qi 'permission denied' || fail "$1: visitor refused, but not for permission: $out"
    VISITOR_SAYS=$out
    [ "$(tickets_pending)" = 1 ] || fail "$1: $(tickets_pending) tickets pending, expected 1"
    press_and_register 40 || fail "$1: the press with a ticket did not register"
    [ "$(standin_usernames | tail -n 1)" = "$name" ] ||
        fail "$1: the press registered '$(standin_usernames | tail -n 1)', not the ticket's $name"
}
release_button
allowed_and_refused default

c=$(journal_mark)
config_with '[control]
group = "enrolld"'
systemctl restart enrolld || fail "with control.group = \"enrolld\" the daemon did not start: $(unit_journal "$c")"
[ "$(stat -c '%a %G' "$sock")" = "660 enrolld" ] || fail "with control.group the socket is $(stat -c '%a %G' "$sock")"
allowed_and_refused group-enrolld

c=$(journal_mark)
n0=$(unit_prop NRestarts)
config_with '[control]
group = "video"'
restart_expecting_failure '73|78' 'control.group = "video"'
refused=$(unit_prop ExecMainStatus)
journal_since "$c" -u enrolld -o cat | grep -q 'control.group' || fail "the journal does not name control.group: $(unit_journal "$c")"
sleep 6
[ "$(unit_prop NRestarts)" = "$n0" ] || fail "the unit restarted after refusing control.group"
daemon_back
wait_unit active 30 || fail "not active again with the test configuration"
result PASS "socket srw-rw---- enrolld:enrolld; reception (group enrolld) enrolls and the press registers the ticket, visitor refused ($(printf '%s\n' "$VISITOR_SAYS" | head -n 1)); same with control.group = \"enrolld\"; control.group = \"video\" refused ($refused), no restart"
