# timeout: 120
# `enrolld run` on a device that is there but can never be the camera: v4l2loopback fed GREY (a
# format enrolld does not read; rk-loopback-feed hold) makes the daemon refuse to start, exit 1,
# naming the device and what it offers. The same node without a producer (offering nothing, as
# before the Pi camera's bridge has written its first frame) is not refused: the daemon starts
# and waits, as for a camera plugged in later.
. /lib/enrolld-test/lib.sh

HOLD_LOG=$RK_RUN/hold.log
hold_pid=
cleanup() {
    [ -z "$hold_pid" ] || { kill "$hold_pid" 2>/dev/null; wait "$hold_pid" 2>/dev/null; }
    stop_all
}
daemon_on_loopback auto
RK_FACE_CHECK=false
# The daemon reads its CA (the stand-in's) before it looks at the camera.
start_standin || fail "the stand-in did not start: $(tail -n 3 "$RK_RUN/standin.log")"

# --- no producer: starts ---
start_daemon || fail "the daemon on $RK_CAM without a producer did not reach idle: $(daemon_tail)"
stop_daemon
[ "$RK_DAEMON_CODE" = 0 ] || fail "the daemon on $RK_CAM without a producer stopped with $RK_DAEMON_CODE: $(daemon_tail)"

# --- GREY: refused at start ---
trap cleanup EXIT # after start_daemon, which installs stop_all
rk-loopback-feed hold "$RK_CAM" GREY 1280x720 >"$HOLD_LOG" 2>&1 &
hold_pid=$!
wait_for_file "$HOLD_LOG" 20 '^READY' || fail "rk-loopback-feed hold did not start: $(cat "$HOLD_LOG")"
offered=$(enrolld probe 2>&1 | awk -v d="$RK_CAM" '$1 == d { on = 1; next } /^\/dev\// { on = 0 }
    on && /^  [A-Z0-9]{4} / { printf "%s%s", sep, $1; sep = "," }')
[ "$offered" = GREY ] || fail "enrolld probe lists '$offered' for $RK_CAM, expected GREY"
rm -rf "$RK_DAEMON_DIR"
mkdir -p "$RK_DAEMON_DIR"
daemon_config button >"$RK_RUN/daemon.toml"
code=0
# No `timeout` around it: busybox's leaves a watchdog process behind; a daemon that started
# anyway is ended by the scenario's own limit and fails it.
out=$(enrolld --config "$RK_RUN/daemon.toml" run 2>&1) || code=$?
[ "$code" = 1 ] || fail "enrolld run on $RK_CAM offering GREY: exit $code, not 1: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"
line=$(printf '%s\n' "$out" | grep -m1 'offers no format enrolld reads') ||
    fail "enrolld run's exit does not say the device offers no format it reads: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"
case $line in *"$RK_CAM"*"it offers: GREY"*) ;; *) fail "the refusal does not name $RK_CAM and GREY: $line" ;; esac
[ ! -e "$RK_STATUS" ] || ! grep -q '"state": *"idle"' "$RK_STATUS" || fail "the refused daemon wrote an idle status"
result PASS "no producer: started and stopped cleanly; fed GREY: exit 1, '${line#*] }'"
