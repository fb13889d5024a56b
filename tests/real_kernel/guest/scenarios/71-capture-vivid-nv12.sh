# timeout: 120
# The same capture with vivid delivering NV12.
. /lib/enrolld-test/lib.sh
capture_scenario nv12 NV12
