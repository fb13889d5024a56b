# timeout: 400
# The shell-script terminal skipping one frame (fswebcam -S 1), as enrolld's
# on-demand mode discards one warm-up frame.
. /lib/enrolld-test/scenarios/latency.inc
run_script_latency 1 script-skip-1
