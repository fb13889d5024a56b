# timeout: 400
# Press-to-request latency, camera opened for each enrollment, on the USB-camera-like device
# (v4l2loopback fed 1280x720 MJPEG at 30 fps): the camera's JPEG passed through, no encode.
. /lib/enrolld-test/scenarios/latency.inc
feed_start mjpeg face || fail "the feeder did not start: $(feed_tail)"
RK_LOOPBACK_BURST=1
daemon_on_loopback mjpeg
RK_FACE_CHECK=false
run_latency on-demand enrolld-mjpeg
