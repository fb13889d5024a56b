# Helpers for the systemd guest's scenarios (Debian's sh, dash). Builds on the real-kernel
# guest's lib.sh, installed beside this file: results and checks, gpio-sim lines, the LED
# and line tools (rk-gpio-edges), the stand-in's records and behaviour file, the daemon's
# status file. What is added here is about the installed package under systemd.
#
# Here the daemon is the packaged one, started by systemd as `enrolld.service` with the
# package's defaults (status /run/enrolld/status.json, queue /var/lib/enrolld, control socket
# /run/enrolld/control.sock), and the IDMeta stand-in is `idmeta-standin.service` (HTTPS on
# 127.0.0.1:8443, its CA in $SG_CA, its records under $RK_RUN as lib.sh expects them).

SG=/usr/local/lib/enrolld-test
. "$SG/lib.sh"

# Debian has no usleep(1); lib.sh's waits use it.
command -v usleep >/dev/null || usleep() { sleep "$(($1 / 1000000)).$(printf '%06d' $(($1 % 1000000)))"; }

RK_STATUS=/run/enrolld/status.json
SG_CONFIG=/etc/enrolld/enrolld.toml
SG_CA=/usr/local/share/ca-certificates/idmeta-standin.crt
SG_DROPINS=/etc/systemd/system/enrolld.service.d
# Survives the reboot between the two boots (the runner keeps its own state here too).
SG_STATE=/var/lib/enrolld-test
# The daemon's camera: v4l2loopback fed by enrolld-test-camera.service (its control file and
# log are lib.sh's RK_FEED_CONTROL and RK_FEED_LOG, so feed_set and fed_file_of work on it).
SG_CAMERA=/dev/video21
# The frames it plays (lib.sh's fed_file_of compares with them).
RK_FRAMES=$SG/frames

# camera_shows face|noface: what the USB camera sees from its next frame on (returns once the
# feeder took it; 1 if not within 10 s).
camera_shows() {
    RK_FEED_SERIAL=$(sed -n 's/^serial //p' "$RK_FEED_CONTROL")
    feed_set picture "$1"
}

# unit_prop <property>: a property of enrolld.service (`systemctl show`).
unit_prop() { systemctl show -p "$1" --value enrolld.service; }

# wait_unit <ActiveState> <timeout-s>
wait_unit() {
    local tenths=0
    while [ "$(unit_prop ActiveState)" != "$1" ]; do
        [ "$tenths" -lt $(($2 * 10)) ] || return 1
        usleep 100000
        tenths=$((tenths + 1))
    done
}

# wait_new_pid <old MainPID> <timeout-s>: until the unit runs under another main pid.
wait_new_pid() {
    local tenths=0 pid
    while :; do
        pid=$(unit_prop MainPID)
        [ "$pid" = 0 ] || [ "$pid" = "$1" ] || return 0
        [ "$tenths" -lt $(($2 * 10)) ] || return 1
        usleep 100000
        tenths=$((tenths + 1))
    done
}

# journal_mark: a cursor; `journal_since <cursor> [journalctl options]` reads what came after
# it (wall-clock times are useless here: scenarios move the clock).
journal_mark() { journalctl -q -n 0 --show-cursor | sed -n 's/^-- cursor: //p'; }
journal_since() {
    local cursor=$1
    shift
    journalctl -q --no-pager --after-cursor="$cursor" "$@"
}

# wait_journal <cursor> <timeout-s> <grep -E pattern>: until enrolld.service logged a
# matching line after the cursor.
wait_journal() {
    local tenths=0
    until journal_since "$1" -u enrolld.service -o cat | grep -qE "$3"; do
        [ "$tenths" -lt $(($2 * 10)) ] || return 1
        usleep 100000
        tenths=$((tenths + 1))
    done
}

# outcome_entries <code>: the journal's enrolld.service entries with ENROLLD_OUTCOME=<code>,
# one JSON object a line, by README's command. (journalctl 252 finds none with such a field
# match after a cursor: count them before and after instead. And print them with printf, not
# dash's echo, which would turn the "\n" in a JSON string into a line break.)
outcome_entries() { journalctl -q --no-pager -u enrolld "ENROLLD_OUTCOME=$1" -o json; }

# unit_journal <cursor>: enrolld.service's messages after the cursor on one line, for details.
unit_journal() { journal_since "$1" -u enrolld.service -o cat | tail -n "${2:-6}" | tr '\n' ' '; }

# write_config [<sed option>...]: /etc/enrolld/enrolld.toml as the test configuration (the
# edit of install step 4), changed by the given sed options if any.
write_config() { sed -e '' "$@" "$SG/enrolld.toml" >"$SG_CONFIG"; }

# config_with <toml lines>: the test configuration with these lines appended (a new section).
config_with() { { cat "$SG/enrolld.toml"; printf '\n%s\n' "$1"; } >"$SG_CONFIG"; }

# daemon_back: the test configuration and a daemon (re)started on it, whatever a scenario
# left (its EXIT trap), so the next scenario does not start from a changed or broken state.
daemon_back() {
    write_config
    systemctl reset-failed enrolld.service 2>/dev/null
    systemctl restart enrolld.service
    wait_for_state idle 30
}

# restart_expecting_failure <exit statuses> <what>: restarts the unit with a configuration
# that must make the daemon exit with one of the statuses (an extended regex: 73|78); fails
# the scenario otherwise. Leaves the unit failed.
restart_expecting_failure() {
    systemctl reset-failed enrolld.service 2>/dev/null
    systemctl restart enrolld.service 2>/dev/null && fail "the daemon started with $2"
    wait_unit failed 20 || fail "with $2 the unit is $(unit_prop ActiveState), not failed"
    unit_prop ExecMainStatus | grep -qxE "$1" ||
        fail "with $2 the daemon exited with $(unit_prop ExecMainStatus), not $1"
}

# ensure_users: "reception" (an reception account, in group enrolld as README tells) and "visitor" (not).
ensure_users() {
    id reception >/dev/null 2>&1 || useradd -m -G enrolld reception
    id -nG reception | grep -qw enrolld || usermod -a -G enrolld reception
    id visitor >/dev/null 2>&1 || useradd -m visitor
}

# standin_switch <behaviour>: lib.sh's standin_behaviour, also when the stand-in already has
# it (it only logs a change) and without matching an older switch's log line.
standin_switch() {
    [ "$(cat "$RK_RUN/standin-behaviour" 2>/dev/null)" != "$1" ] || return 0
    : >"$RK_RUN/standin.log"
    standin_behaviour "$1"
}

# press: one press of the button (lib.sh's pulse_button) once the daemon takes presses again:
# the button's cooldown_ms (500 ms here) runs from the end of the previous enrollment's result,
# that is from the moment the status file says idle.
press() {
    usleep 1000000
    pulse_button
}

# press_and_register <timeout-s>: one press; returns once the stand-in saw one more
# registration and the daemon is idle again.
press_and_register() {
    local n
    n=$(standin_registrations)
    press
    wait_registrations $((n + 1)) "$1" || return 1
    wait_for_state idle 20
}

# tickets_pending: how many tickets the running daemon holds, from its live status
# (`enrolld status`, through the control socket).
tickets_pending() { enrolld status 2>/dev/null | tr -d ' \n' | sed -n 's/.*"tickets_pending":\([0-9]*\).*/\1/p'; }

# no_tickets: presses until no ticket is pending (one an earlier scenario left would name
# the next registration).
no_tickets() {
    while [ "$(tickets_pending)" != 0 ]; do
        press_and_register 40 || return 1
    done
}

# press_and_queue <depth>: one press while the stand-in refuses; returns once the status
# file says the queue holds <depth> entries and the daemon is idle again.
press_and_queue() {
    press
    wait_for_file "$RK_STATUS" 40 "\"depth\": *$1,?\$" || return 1
    wait_for_state idle 20
}

# in_service_view <user> <command>: the command in enrolld.service's own mount namespace
# (what ProtectSystem=, ProtectHome=, PrivateTmp= and the directories made for the unit),
# as root or as the given user with that user's groups.
in_service_view() {
    local pid=$(unit_prop MainPID) user=$1
    shift
    [ "$pid" != 0 ] || return 2
    if [ "$user" = root ]; then
        nsenter --target "$pid" --mount -- sh -c "$*"
    else
        nsenter --target "$pid" --mount -- setpriv --reuid="$user" --regid="$user" --init-groups -- sh -c "$*"
    fi
}
