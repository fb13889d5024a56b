# timeout: 120
# A frame captured from vivid is registered over real TLS on loopback with
# the IDMeta stand-in (`enrolld-standin`) by `enrolld register`: the network
# half of the button scenario, on this kernel and architecture.
. /lib/enrolld-test/lib.sh
token=$(cat /etc/enrolld/token)

start_standin || fail "the stand-in did not start: $(tail -n 3 "$RK_RUN/standin.log")"
cfg=$RK_RUN/register.toml
standin_config >"$cfg"
jpg=$RK_RUN/register.jpg
out=$(enrolld --config "$cfg" capture --out "$jpg" 2>&1) || fail "capture failed: $(echo "$out" | tail -n 3)"
out=$(enrolld --config "$cfg" register --image "$jpg" --username rk-guest 2>&1)
code=$?
stop_standin
case $out in *"$token"*) fail "register printed the token" ;; esac
[ "$code" = 0 ] || fail "register exit status $code: $(echo "$out" | tail -n 3)"
echo "$out" | grep -q '"code":"registered"' || fail "register outcome is not registered: $out"
face=$(echo "$out" | sed -n 's/.*"face_id":"\([^"]*\)".*/\1/p')
records=$RK_RUN/standin.jsonl
grep -qF "$token" "$records" && fail "the stand-in's records hold the token"
n=$(wc -l <"$records")
[ "$(grep -c '"token_ok":true' "$records")" = "$n" ] || fail "not every request carried the token"
grep -v '"problems":\[\]' "$records" >/dev/null && fail "the stand-in found problems in a request"
size=$(wc -c <"$jpg")
grep -q "\"jpeg_len\":$size," "$records" || fail "no request carried the $size-byte JPEG"
result PASS "$size-byte JPEG from vivid registered over TLS on loopback as $face ($n requests, token checked)"
