# timeout: 60
# What v4l2loopback (Debian's v4l2loopback-dkms, built by host/loopback.sh) announces over a
# producer's life, seen by a consumer (rk-loopback-feed probe): its capabilities and the
# formats VIDIOC_ENUM_FMT lists on the capture side, idle, after the producer's S_FMT (MJPEG
# 1280x720), after its STREAMON, after a frame, once it closed, and opened anew. Asserted for
# exclusive_caps=1 ($RK_CAM) and 0 ($RK_CAM_ALLCAPS): the capture side lists one format, the
# producer's, and only from its STREAMON on (none before, with either setting), so no stock
# configuration offers MJPEG and YUYV together; with the build's one change on (cam_dual) a
# device fed MJPEG lists YUYV, then MJPEG, as a UVC camera does. The table is exported.
. /lib/enrolld-test/lib.sh

table=$RK_RUN/loopback-formats.txt
: >"$table"
probe() { # label device
    echo "== $1 ($2)" >>"$table"
    rk-loopback-feed probe "$2" 1280x720 "$RK_FRAMES/face-1.jpg" >>"$table" 2>&1 ||
        fail "rk-loopback-feed probe $2 failed: $(tail -n 1 "$table")"
}
probe exclusive_caps=1 "$RK_CAM"
probe exclusive_caps=0 "$RK_CAM_ALLCAPS"
cam_dual on
probe "exclusive_caps=1, YUYV listed too" "$RK_CAM"
cam_dual off
export_file "$table" loopback-formats.txt

# expect <label> <step> <caps> <capture formats>: the probe's line for that step.
expect() {
    local line
    line=$(awk -v l="== $1 (" -v s="PROBE $2 " 'index($0, l) == 1 { on = 1; next } /^==/ { on = 0 }
        on && index($0, s) == 1 { print; exit }' "$table")
    case $line in
    "PROBE $2 caps=$3 capture=$4 "*) ;;
    *) fail "$1, $2: expected caps=$3 capture=$4, got '$line'" ;;
    esac
}
for label in exclusive_caps=1 "exclusive_caps=1, YUYV listed too"; do
    expect "$label" idle OUTPUT 'none(EINVAL)'
    expect "$label" format-set OUTPUT 'none(EINVAL)'
    expect "$label" reopened OUTPUT 'none(EINVAL)'
done
for step in idle format-set reopened; do expect exclusive_caps=0 "$step" CAPTURE,OUTPUT 'none(EINVAL)'; done
for step in streaming written; do
    expect exclusive_caps=1 "$step" CAPTURE MJPG
    expect exclusive_caps=0 "$step" CAPTURE,OUTPUT MJPG
    expect "exclusive_caps=1, YUYV listed too" "$step" CAPTURE YUYV,MJPG
done
# The consumer still holds the device: the format stays, and the output side is announced again.
expect exclusive_caps=1 producer-closed CAPTURE,OUTPUT MJPG
expect exclusive_caps=0 producer-closed CAPTURE,OUTPUT MJPG
result PASS "capture side lists nothing before the producer's STREAMON, then only its format (MJPG) with exclusive_caps 1 and 0; with the build's change YUYV,MJPG"
