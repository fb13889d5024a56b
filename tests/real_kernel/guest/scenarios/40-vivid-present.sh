# timeout: 30
# vivid is /dev/video0, and can be unplugged and plugged back (what the camera
# stall scenario does to a running daemon).
. /lib/enrolld-test/lib.sh

v=/sys/class/video4linux/video0
[ -c /dev/video0 ] || fail "/dev/video0 is not a character device"
driver=$(basename "$(readlink "$v/device/driver")")
[ "$driver" = vivid ] || fail "/dev/video0 is driven by '$driver', expected vivid"
name=$(cat "$v/name")
vivid_unbind || fail "/dev/video0 still there after unbinding vivid"
vivid_bind || fail "/dev/video0 did not come back after binding vivid"
[ "$(basename "$(readlink "$v/device/driver")")" = vivid ] || fail "rebound video0 is not vivid"
result PASS "/dev/video0 '$name' (driver vivid), unbind and bind work"
