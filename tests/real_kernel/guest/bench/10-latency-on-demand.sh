# timeout: 400
# Press-to-request latency, camera opened for each enrollment (one warm-up frame).
. /lib/enrolld-test/scenarios/latency.inc
run_latency on-demand enrolld-on-demand
