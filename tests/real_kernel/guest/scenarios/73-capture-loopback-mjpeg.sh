# timeout: 60
# `enrolld capture` from a USB-camera-like device (v4l2loopback fed 1280x720 MJPEG at 30 fps
# of the astronaut photo) with format = "mjpeg": the JPEG is one of the camera's own frames,
# byte for byte (checked here against what the feeder wrote undamaged, and on the host
# against the frame file made there).
. /lib/enrolld-test/lib.sh

feed_start mjpeg face || fail "the feeder did not start: $(feed_tail)"
cam_config mjpeg >"$RK_RUN/cam-mjpeg.toml"
jpg=$RK_RUN/loopback-mjpeg.jpg
cam_capture_ok "$RK_RUN/cam-mjpeg.toml" "$jpg" MJPEG
echo "$CAM_OUT" | grep -q "camera's own MJPEG" || fail "the camera's frame was re-encoded: $(echo "$CAM_OUT" | grep '^jpeg')"
fed=$(fed_file_of "$jpg") || fail "the JPEG ($(wc -c <"$jpg") bytes) is none of the frames fed undamaged"
echo "$fed" >"$RK_RUN/loopback-mjpeg.fed"
export_file "$jpg" loopback-mjpeg.jpg
export_file "$RK_RUN/loopback-mjpeg.fed" loopback-mjpeg.fed
result PASS "MJPEG 1280x720 passed through: byte for byte $fed ($(wc -c <"$jpg") bytes); $(echo "$CAM_OUT" | grep '^ms:')"
