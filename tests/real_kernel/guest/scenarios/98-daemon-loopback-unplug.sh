# timeout: 180
# The USB-camera-like device goes away under the daemon (v4l2loopback unloaded, its nodes gone,
# as when a USB camera is pulled): a press shows `fault` (camera.ok false, the device named) and
# SOS on the LED, the daemon stays up; loaded and fed again, it returns to idle by itself and the
# next press registers the camera's own frame, without a restart. On demand, the daemon holds
# the device only during a capture, so the module can go while it is idle.
. /lib/enrolld-test/lib.sh

feed_start mjpeg face || fail "the feeder did not start: $(feed_tail)"
start_standin || fail "the stand-in did not start: $(tail -n 3 "$RK_RUN/standin.log")"
release_button
daemon_on_loopback mjpeg
RK_FACE_CHECK=false
start_daemon || fail "the daemon did not reach idle: $(daemon_tail)"
feed_stop
cam_unplug || fail "v4l2loopback could not be unloaded with only the daemon running: $(lsmod | grep v4l2loopback)"
pulse_button
wait_for_state fault 40 || { cam_plug; fail "no fault state: $(daemon_tail)"; }
camera_ok=$(status_object_field camera ok)
[ "$camera_ok" = false ] || { cam_plug; fail "fault, but camera.ok is '$camera_ok'"; }
grep -q "$RK_CAM" "$RK_STATUS" || { cam_plug; fail "the status file does not name $RK_CAM: $(grep -A3 '"camera"' "$RK_STATUS" | tr '\n' ' ')"; }
runs=$(watch_line 6000)
daemon_alive || { cam_plug; fail "the daemon died in fault: $(daemon_tail)"; }
why=$(runs_match fault "$runs") || { cam_plug; fail "led in fault is not SOS: $why ($runs)"; }

cam_plug || fail "v4l2loopback did not come back"
feed_start mjpeg face || fail "the feeder did not start again: $(feed_tail)"
wait_for_state idle 60 || fail "not back to idle after the camera returned: $(daemon_tail)"
pulse_button
wait_registrations 1 60 || fail "the press after recovery did not register: $(daemon_tail)"
wait_for_state idle 20 || fail "the registration did not return to idle: $(daemon_tail)"
jpg=$(ls "$RK_RUN"/standin-jpeg/*.jpg)
fed=$(fed_file_of "$jpg") || fail "the registered JPEG is none of the frames fed"
stop_daemon_cleanly
result PASS "unplugged: fault, camera.ok false naming $RK_CAM, led SOS $runs; plugged and fed again: idle by itself, registered $fed"
