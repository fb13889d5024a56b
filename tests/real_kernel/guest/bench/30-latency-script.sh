# timeout: 400
# Press-to-request latency of the shell-script terminal, no frames skipped.
. /lib/enrolld-test/scenarios/latency.inc
run_script_latency 0 script
