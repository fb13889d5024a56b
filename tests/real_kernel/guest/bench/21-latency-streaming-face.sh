# timeout: 900
# Press-to-request latency, camera kept streaming, face check on, on the USB-camera-like device
# (1280x720 MJPEG at 30 fps, one well-placed face).
. /lib/enrolld-test/scenarios/latency.inc
feed_start mjpeg face || fail "the feeder did not start: $(feed_tail)"
RK_LOOPBACK_BURST=1
daemon_on_loopback mjpeg
run_latency_vs_reference streaming enrolld-streaming-face
