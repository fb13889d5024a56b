# timeout: 30
# The kernel is the one the host unpacked, every module loaded, setup clean.
. /lib/enrolld-test/lib.sh
T=/lib/enrolld-test

want=$(cat "$T/kernel-release")
[ "$(uname -r)" = "$want" ] || fail "kernel $(uname -r), expected $want"
[ ! -s "$RK_RUN/setup.log" ] || fail "setup: $(tr '\n' ';' <"$RK_RUN/setup.log")"
loaded=0
while read -r ko _; do
    m=${ko%.ko}
    m=$(echo "$m" | tr - _)
    grep -q "^$m " /proc/modules || fail "module $m is not loaded"
    loaded=$((loaded + 1))
done <"$T/modules.order"
# The host re-checks the module list from its own copy (and so proves the
# file channel end to end: size and sha256 are verified there).
export_file /proc/modules proc-modules
result PASS "kernel $want, $loaded modules loaded"
