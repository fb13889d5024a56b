# timeout: 900
# As 11-latency-mjpeg, with the face check on (the fed frames show one well-placed face): the
# check's cost on a press, beside the same camera without it.
. /lib/enrolld-test/scenarios/latency.inc
feed_start mjpeg face || fail "the feeder did not start: $(feed_tail)"
RK_LOOPBACK_BURST=1
daemon_on_loopback mjpeg
run_latency_vs_reference on-demand enrolld-mjpeg-face
