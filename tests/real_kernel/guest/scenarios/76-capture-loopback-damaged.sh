# timeout: 90
# Damaged MJPEG frames from the camera, as a flaky USB link or a camera's firmware delivers
# them. Each kind alone (truncated, no EOI, garbage in the middle, all zeros) for a whole
# burst: `enrolld capture` fails, exit 1, with "no readable frame in the burst" and the
# decoder's reason, saving nothing. Damaged and good frames alternating, burst of 8: the
# capture is one of the good frames byte for byte (the feeder's log shows both kinds went out
# during it). Undamaged again: the same camera, not reopened by hand, captures at once.
. /lib/enrolld-test/lib.sh

feed_start mjpeg face || fail "the feeder did not start: $(feed_tail)"
cfg=$RK_RUN/cam-damaged.toml
cam_config mjpeg "$RK_CAM" 'burst = 8' >"$cfg"
jpg=$RK_RUN/loopback-damaged.jpg
reasons=
for kind in truncated no-eoi garbage zeros; do
    feed_set damage "$kind" || fail "the feeder did not take damage $kind: $(feed_tail)"
    rm -f "$jpg"
    cam_capture "$cfg" "$jpg"
    [ "$CAM_CODE" = 1 ] || fail "a burst of $kind frames: exit $CAM_CODE, expected 1: $(echo "$CAM_OUT" | tail -n 2)"
    why=$(echo "$CAM_OUT" | tail -n 1)
    case $why in *"no readable frame in the burst: MJPEG frame does not decode: "*) ;;
    *) fail "a burst of $kind frames failed without the reason: $why" ;; esac
    [ ! -e "$jpg" ] || fail "a burst of $kind frames left $jpg"
    reasons="$reasons $kind: ${why##*: };"
done

feed_set damage truncated,good,no-eoi,good,garbage,good,zeros,good || fail "the feeder did not take the mixed damage: $(feed_tail)"
first=$(feed_frames)
cam_capture_ok "$cfg" "$jpg" MJPEG
last=$(feed_frames)
fed=$(fed_file_of "$jpg") || fail "the mixed burst's JPEG is none of the frames fed undamaged"
during=$(awk -v a="$first" -v b="$last" '$1 == "FRAME" && $2 >= a && $2 < b { n[$4 == "good" ? "good" : "damaged"]++ }
    END { printf "%d good, %d damaged", n["good"], n["damaged"] }' "$RK_FEED_LOG")
case $during in 0\ good* | *\ 0\ damaged) fail "the mixed burst was not mixed: $during fed during the capture" ;; esac

feed_set damage none || fail "the feeder did not take damage none: $(feed_tail)"
cam_capture_ok "$cfg" "$jpg" MJPEG
fed_file_of "$jpg" >/dev/null || fail "undamaged again: the JPEG is none of the frames fed"
result PASS "whole bursts refused, exit 1:$reasons mixed burst ($during fed meanwhile) sent $fed byte for byte; usable again"
