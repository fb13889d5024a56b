# timeout: 60
# The static enrolld binary runs on this kernel and architecture, reads its
# configuration and never prints the token.
. /lib/enrolld-test/lib.sh
C=/etc/enrolld/enrolld.toml
token=$(cat /etc/enrolld/token)

version=$(enrolld --version 2>&1) || fail "enrolld --version failed: $version"
echo "$version" | grep -q '^enrolld ' || fail "unexpected --version output: $version"

out=$(enrolld --config "$C" check-config 2>&1) || fail "check-config failed: $(echo "$out" | tail -n 3)"
echo "$out" | grep -q "$C: valid" || fail "check-config did not say valid: $(echo "$out" | head -n 3)"
case $out in *"$token"*) fail "check-config printed the token" ;; esac

# A broken file is refused with the key and line named, and exit status 78.
bad=$RK_RUN/bad.toml
sed 's/^template_id = .*/template_id = 5/' "$C" >"$bad"
out=$(enrolld --config "$bad" check-config 2>&1)
code=$?
[ "$code" = 78 ] || fail "broken config: exit status $code, expected 78"
echo "$out" | grep -q 'api.template_id' || fail "broken config error does not name api.template_id: $out"
result PASS "$version; check-config valid, broken config refused with status 78"
