# timeout: 400
# Press-to-request latency, camera kept streaming between enrollments.
. /lib/enrolld-test/scenarios/latency.inc
run_latency streaming enrolld-streaming
