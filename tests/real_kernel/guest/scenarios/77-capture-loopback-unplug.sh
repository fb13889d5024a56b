# timeout: 90
# The camera going away, and what enrolld does today. v4l2loopback cannot vanish while open
# (an open node holds the module; its control device does not exist in bookworm's 0.12.7), so:
# (1) unloading it while `enrolld capture` streams from it is refused by the kernel and the
# capture goes on; (2) the producer killed mid-capture (the camera stops sending): the capture
# ends, exit 1, naming the device; (3) unloaded while nothing holds it, the node gone: a
# capture fails at once, exit 1, saying the camera may be unplugged; (4) loaded again and fed:
# the next capture works. Each step's message and time are in the detail.
. /lib/enrolld-test/lib.sh

feed_start mjpeg face || fail "the feeder did not start: $(feed_tail)"
# 90 warm-up frames: three seconds of streaming at 30 fps before the burst.
cam_config mjpeg "$RK_CAM" 'warmup_frames = 90' >"$RK_RUN/cam-long.toml"
jpg=$RK_RUN/loopback-unplug.jpg
enrolld --config "$RK_RUN/cam-long.toml" capture --out "$jpg" >"$RK_RUN/capture-long.log" 2>&1 &
pid=$!
tenths=0
until ls -l "/proc/$pid/fd" 2>/dev/null | grep -q "$RK_CAM\$"; do
    kill -0 "$pid" 2>/dev/null && [ "$tenths" -lt 100 ] || fail "enrolld capture never opened $RK_CAM: $(cat "$RK_RUN/capture-long.log")"
    usleep 100000
    tenths=$((tenths + 1))
done
# (1)
if cam_unplug 2>"$RK_RUN/rmmod.log"; then
    cam_plug
    fail "v4l2loopback was unloaded while enrolld had $RK_CAM open"
fi
refused=$(tr "\n" " " <"$RK_RUN/rmmod.log" | sed "s/ *$//")
[ -c "$RK_CAM" ] || fail "$RK_CAM gone after a refused unload"
# (2)
t0=$(cut -d' ' -f1 /proc/uptime)
feed_stop
wait "$pid"
code=$?
t1=$(cut -d' ' -f1 /proc/uptime)
stopped=$(tail -n 1 "$RK_RUN/capture-long.log")
[ "$code" = 1 ] || fail "producer gone mid-capture: exit $code, expected 1: $stopped"
case $stopped in *"$RK_CAM"*) ;; *) fail "producer gone mid-capture: the message does not name $RK_CAM: $stopped" ;; esac
# (3)
cam_unplug 2>"$RK_RUN/rmmod.log" || fail "v4l2loopback could not be unloaded with nothing open: $(tr '\n' ' ' <"$RK_RUN/rmmod.log")"
trap 'cam_plug; stop_all' EXIT
cam_config mjpeg >"$RK_RUN/cam-mjpeg.toml"
cam_capture "$RK_RUN/cam-mjpeg.toml" "$jpg"
gone=$(echo "$CAM_OUT" | tail -n 1)
[ "$CAM_CODE" = 1 ] || fail "camera unplugged: exit $CAM_CODE, expected 1: $gone"
case $gone in *"plugged in"*) ;; *) fail "camera unplugged: the message does not say so: $gone" ;; esac
# (4)
cam_plug || fail "v4l2loopback could not be loaded again"
trap stop_all EXIT
feed_start mjpeg face || fail "the feeder did not start after the reload: $(feed_tail)"
cam_capture_ok "$RK_RUN/cam-mjpeg.toml" "$jpg" MJPEG
fed_file_of "$jpg" >/dev/null || fail "after the reload: the JPEG is none of the frames fed"
result PASS "unload while streaming refused ($refused); producer killed: exit 1 after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s: $stopped; unloaded: $gone; reloaded: captured"
