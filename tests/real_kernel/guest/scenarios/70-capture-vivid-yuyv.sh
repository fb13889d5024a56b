# timeout: 120
# `enrolld capture` through vivid in YUYV at 1280x720 gives a valid JPEG
# (checked here by its markers, and decoded on the host).
. /lib/enrolld-test/lib.sh
capture_scenario yuyv YUYV
