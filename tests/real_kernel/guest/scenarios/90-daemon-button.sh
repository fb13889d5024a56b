# timeout: 120
# The daemon (`enrolld run`) on gpio-sim + vivid + the stand-in over TLS: one
# press of `button` -> one registration whose JPEG has the configured size
# (decoded on the host), status `registered` with the stand-in's face id, and
# the `led` line blinking (busy) then solid (registered) then off.
. /lib/enrolld-test/lib.sh

start_standin || fail "the stand-in did not start: $(tail -n 3 "$RK_RUN/standin.log")"
release_button
start_daemon || fail "the daemon did not reach idle: $(daemon_tail)"
# The stand-in holds each answer 800 ms, so the busy pattern is on long enough to be seen
# whatever the build's speed (the release-profile build registers in about 250 ms here:
# one blink).
standin_behaviour stall:800 || fail "the stand-in did not take stall:800"
stop=$RK_RUN/led.stop
rm -f "$stop"
watch_line 60000 led "$stop" >"$RK_RUN/led.runs" &
watcher=$!
usleep 300000
pulse_button
wait_for_state registered 40 || fail "no registered state: $(daemon_tail)"
wait_for_state idle 10 || fail "registered did not return to idle: $(daemon_tail)"
usleep 300000
touch "$stop"
wait "$watcher"
runs=$(cat "$RK_RUN/led.runs")

wait_registrations 1 5 || fail "the stand-in saw no registration"
[ "$(standin_registrations)" = 1 ] || fail "the stand-in saw $(standin_registrations) registrations"
jpg=$(ls "$RK_RUN"/standin-jpeg/*.jpg)
[ "$(echo "$jpg" | wc -l)" = 1 ] || fail "stand-in saved: $jpg"
is_jpeg "$jpg" || fail "the registered image is not a JPEG"
seq=$(basename "$jpg" .jpg)
face=$(status_field face_id)
case $face in "$(printf 'face_%06d_' "$seq")"*) ;; *) fail "status face_id '$face' is not the stand-in's registration $seq" ;; esac
check_clean_logs || fail "the token reached the daemon's output or status file"

# Off, busy blinks (250 ms), one solid run (registered, 3 s), off again.
why=$(runs_match registered "$runs") || fail "led is not off, busy, registered, off: $why ($runs)"
export_file "$jpg" daemon-button.jpg
stop_daemon_cleanly
result PASS "1 registration as $face, JPEG $(wc -c <"$jpg") bytes; led runs (level:ms) $runs"
