# timeout: 120
# A frame captured from vivid is registered over real TLS on loopback with
# the IDMeta stand-in (`enrolld-standin`) by `enrolld register`, speaking
# IDMeta's v3 API (api.version = 3, biometrics-detection): the network half of
# the button scenario, on this kernel and architecture. The same frame sent
# again is registered and flagged (the stand-in's duplicate detection:
# registered_review, the match naming the first registration).
. /lib/enrolld-test/lib.sh
token=$(cat /etc/enrolld/token)
flow=4711

RK_TEMPLATE_ID=$flow start_standin || fail "the stand-in did not start: $(tail -n 3 "$RK_RUN/standin.log")"
cfg=$RK_RUN/register.toml
standin_config | awk -v flow="$flow" '
    /^template_id = / { print "template_id = \"" flow "\""; next }
    { print }
    /^\[api\]$/ { print "version = 3" }' >"$cfg"
grep -q '^version = 3$' "$cfg" || fail "the v3 configuration was not written: $(head -n 5 "$cfg")"
jpg=$RK_RUN/register.jpg
out=$(enrolld --config "$cfg" capture --out "$jpg" 2>&1) || fail "capture failed: $(echo "$out" | tail -n 3)"
out=$(enrolld --config "$cfg" register --image "$jpg" --username rk-guest 2>&1)
code=$?
standin_behaviour watchlist-match || fail "the stand-in did not take watchlist-match"
again=$(enrolld --config "$cfg" register --image "$jpg" --username rk-guest 2>&1)
again_code=$?
stop_standin
case "$out$again" in *"$token"*) fail "register printed the token" ;; esac
[ "$code" = 0 ] || fail "register exit status $code: $(echo "$out" | tail -n 3)"
echo "$out" | grep -q '"code":"registered"' || fail "register outcome is not registered: $out"
[ "$again_code" = 0 ] || fail "the second register's exit status $again_code: $(echo "$again" | tail -n 3)"
echo "$again" | grep -q '"code":"registered_review"' || fail "the same frame again is not registered_review: $again"
echo "$again" | grep -q '"matches":1' || fail "the flag does not count one match: $again"
face=$(echo "$out" | sed -n 's/.*"face_id":"\([^"]*\)".*/\1/p')
# The match is the first registration: its reference id is the first face id.
echo "$again" | grep -q "\"reference_id\":\"$face\"" || fail "the match is not the first registration ($face): $again"
records=$RK_RUN/standin.jsonl
grep -qF "$token" "$records" && fail "the stand-in's records hold the token"
n=$(wc -l <"$records")
[ "$(grep -c '"token_ok":true' "$records")" = "$n" ] || fail "not every request carried the token"
grep -v '"problems":\[\]' "$records" >/dev/null && fail "the stand-in found problems in a request"
[ "$(grep -c '"endpoint":"register_v3"' "$records")" = 2 ] || fail "not 2 v3 registrations: $(grep -o '"path":"[^"]*"' "$records" | tr '\n' ' ')"
grep '"endpoint":"register_v3"' "$records" | grep -q "\"trustFlowId\":$flow," || fail "trustFlowId is not the integer $flow"
grep '"endpoint":"register_v3"' "$records" | grep -q '"username"' && fail "a v3 registration carried the username"
size=$(wc -c <"$jpg")
grep -q "\"jpeg_len\":$size," "$records" || fail "no request carried the $size-byte JPEG"
result PASS "v3: $size-byte JPEG from vivid registered over TLS on loopback as $face, then registered_review matching it ($n requests, token checked)"
