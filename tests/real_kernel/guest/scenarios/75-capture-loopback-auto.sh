# timeout: 60
# format = "auto" on a device offering MJPEG and YUYV, as a UVC webcam does, takes MJPEG: the
# camera is fed MJPEG with the build's change on (cam_dual), so it lists YUYV first and MJPEG
# second (`enrolld probe` shows both, in that order); the capture reports MJPEG and is one of
# the fed frames byte for byte. The YUYV entry is only listed: format = "yuyv" on the same
# device fails naming VIDIOC_S_FMT, so a consumer that took the first format listed would have
# failed too. The choice and the driver's frame rate are in enrolld's log line (as the daemon
# logs it), beside the capture report's `format:` line.
. /lib/enrolld-test/lib.sh

feed_start mjpeg face || fail "the feeder did not start: $(feed_tail)"
cam_dual on
trap 'cam_dual off; stop_all' EXIT
listed=$(enrolld probe 2>&1 | awk -v d="$RK_CAM" '$1 == d { on = 1; next } /^\/dev\// { on = 0 }
    on && /^  [A-Z0-9]{4} / { printf "%s%s", sep, $1; sep = "," }')
[ "$listed" = YUYV,MJPG ] || fail "enrolld probe lists '$listed' for $RK_CAM, expected YUYV,MJPG"

cam_config auto >"$RK_RUN/cam-auto.toml"
jpg=$RK_RUN/loopback-auto.jpg
cam_capture_ok "$RK_RUN/cam-auto.toml" "$jpg" MJPEG
fed=$(fed_file_of "$jpg") || fail "the auto capture is none of the frames fed"
chose=$(echo "$CAM_OUT" | grep "$RK_CAM: MJPEG 1280x720 at .*camera.format = \"auto\"") ||
    fail "no log line naming the choice and the frame rate: $(echo "$CAM_OUT" | head -n 3)"

cam_config yuyv >"$RK_RUN/cam-yuyv-listed.toml"
cam_capture "$RK_RUN/cam-yuyv-listed.toml" "$RK_RUN/loopback-listed.jpg"
[ "$CAM_CODE" = 1 ] || fail "format = yuyv on the MJPEG-fed device: exit $CAM_CODE, expected 1: $(echo "$CAM_OUT" | tail -n 1)"
echo "$CAM_OUT" | grep -q 'VIDIOC_S_FMT' || fail "format = yuyv failed without naming VIDIOC_S_FMT: $(echo "$CAM_OUT" | tail -n 1)"
result PASS "offered YUYV,MJPG: auto took MJPEG ($fed byte for byte), logged: ${chose#*: }; yuyv there: $(echo "$CAM_OUT" | tail -n 1)"
