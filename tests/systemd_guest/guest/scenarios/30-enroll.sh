# timeout: 120
# One press on the gpio-sim `button` line, the USB camera showing a face, reaches the stand-in as
# exactly one registration (its JPEG exported: the host decodes it at 1280x720); the journal holds the outcome with its
# fields (`journalctl -u enrolld ENROLLD_OUTCOME=registered -o json`), the same face id as the
# status file; the status file's terminal_id is the guest's host name (the configuration names
# none); the `led` line showed the busy blinks, then the registered solid light, then off; the
# token is in neither the journal nor the status file.
. /usr/local/lib/enrolld-test/systemd.sh

trap 'standin_switch ok' EXIT

host=$(hostname)
# The stand-in holds each answer 800 ms, so the busy pattern is on long enough to be seen
# (the release build registers in about a quarter of a second here).
standin_switch stall:800 || fail "the stand-in did not take stall:800"
n=$(standin_registrations)
c=$(journal_mark)
before=$(outcome_entries registered | grep -c .)
release_button
stop=$RK_RUN/led.stop
rm -f "$stop"
watch_line 40000 led "$stop" >"$RK_RUN/led.runs" &
watcher=$!
press_and_register 40 || fail "no registration after a press: $(unit_journal "$c")"
touch "$stop"
wait "$watcher"
runs=$(cat "$RK_RUN/led.runs")
usleep 1000000
expect_registrations $((n + 1)) "one press"
why=$(runs_match registered "$runs") || fail "led during the enrollment: $why ($runs)"

code=$(status_object_field last_outcome code)
[ "$code" = registered ] || fail "last outcome '$code', not registered"
face=$(status_object_field last_outcome face_id)
user=$(standin_usernames | tail -n 1)

new=$(outcome_entries registered | tail -n +$((before + 1)))
[ "$(printf '%s\n' "$new" | grep -c .)" = 1 ] ||
    fail "$(printf '%s\n' "$new" | grep -c .) new journal entries with ENROLLD_OUTCOME=registered, expected 1: $(printf '%s\n' "$new" | grep -o '"MESSAGE":"[^"]*"' | tr '\n' '|')"
json=$new
for field in ENROLLD_USERNAME ENROLLD_FACE_ID ENROLLD_VERIFICATION_ID ENROLLD_DURATION_MS; do
    printf '%s\n' "$json" | grep -q "\"$field\":" || fail "the journal entry lacks $field: $json"
done
printf '%s\n' "$json" | grep -q "\"ENROLLD_FACE_ID\":\"$face\"" || fail "journal face id differs from the status file's $face: $json"
printf '%s\n' "$json" | grep -q "\"ENROLLD_USERNAME\":\"$user\"" || fail "journal username differs from the stand-in's $user: $json"

token=$(cat "$SG/token")
! journalctl -b -u enrolld -o json | grep -qF "$token" || fail "the token is in the journal"
! grep -qF "$token" "$RK_STATUS" || fail "the token is in the status file"
jpeg=$(ls "$RK_RUN"/standin-jpeg/*.jpg | tail -n 1)
export_file "$jpeg" enroll.jpg
# Last, so that everything else is checked whatever the daemon takes for its name.
terminal=$(status_field terminal_id)
[ "$terminal" = "$host" ] || fail "status file terminal_id is '$terminal', not the host name '$host' (username $user)"
case $user in "$host"-*) ;; *) fail "the stand-in got username '$user', not $host-<seq>" ;; esac
result PASS "1 registration as $user (face $face), terminal_id $terminal, journal fields ok, led $runs"
