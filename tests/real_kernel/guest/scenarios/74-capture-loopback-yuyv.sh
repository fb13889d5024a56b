# timeout: 60
# `enrolld capture` from the USB-camera-like device fed raw YUYV 1280x720 (10 fps, what UVC
# cameras offer uncompressed at that size over USB 2) of the astronaut photo, format = "yuyv":
# a 1280x720 JPEG encoded by enrolld, which the host decodes and compares with the photo's
# frame (the same picture: mean luma difference within a few levels).
. /lib/enrolld-test/lib.sh

feed_start yuyv face 10 || fail "the feeder did not start: $(feed_tail)"
cam_config yuyv >"$RK_RUN/cam-yuyv.toml"
jpg=$RK_RUN/loopback-yuyv.jpg
cam_capture_ok "$RK_RUN/cam-yuyv.toml" "$jpg" YUYV
export_file "$jpg" loopback-yuyv.jpg
result PASS "YUYV 1280x720 -> JPEG $(wc -c <"$jpg") bytes; $(echo "$CAM_OUT" | grep '^ms:')"
