# Shared by the .ci scripts: run a named step and report its duration, so a
# slow or failing stage is obvious in CI output.
# Free space where the build goes: a full run needs several GB (see docs/testing.md), and a
# "No space left on device" from the linker is easier to read next to this figure.
free_disk() {
    df -h --output=avail "${CARGO_TARGET_DIR:-.}" 2>/dev/null | tail -1 | tr -d ' '
}

# Incremental compilation only pays off when the same tree is rebuilt many times;
# in a one-shot run it roughly doubles what target/ holds.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# Installs the Debian packages named that are not installed yet (nothing when all are), waiting for
# another apt run to finish rather than failing on its lock: apt_install_missing WHO PACKAGE...
apt_install_missing() {
    local who=$1 p missing=() sudo=()
    shift
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    echo "$who: installing ${missing[*]}"
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=900 update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq \
        --no-install-recommends "${missing[@]}"
}

step() {
    local name=$1
    shift
    local start=$SECONDS
    echo "::: ${name}"
    if "$@"; then
        echo "::: ${name}: ok ($((SECONDS - start)) s, $(free_disk) free)"
    else
        local rc=$?
        echo "::: ${name}: FAILED with status ${rc} ($((SECONDS - start)) s, $(free_disk) free)"
        exit "$rc"
    fi
}

# Stages that run beside another one. Most of a QEMU stage is one guest's single emulation thread,
# and a release link is one thread: the second core idles. A stage started with `beside` runs in
# the background under `nice -n 19` (the foreground stage, a guest's emulation included, keeps
# priority, so its timing is what it would be alone), its output kept in a log; `await_beside`
# waits for it and prints that log under the same `::: name` lines as `step`. The two must not
# share a cargo build directory profile (cargo would make one wait for the other's lock, which
# is safe but wins nothing) nor install anything (prerequisites come first).
declare -A BESIDE_PID=() BESIDE_LOG=() BESIDE_START=()
beside() {
    local name=$1
    shift
    local log
    log=$(mktemp "${TMPDIR:-/tmp}/enrolld-ci-XXXXXX.log")
    echo "::: ${name}: started beside the next stages (output when it ends)"
    # Its own process group, so a failing foreground stage can end it with all its children.
    setsid nice -n 19 "$@" >"$log" 2>&1 </dev/null &
    BESIDE_PID[$name]=$!
    trap end_beside EXIT
    BESIDE_LOG[$name]=$log
    BESIDE_START[$name]=$SECONDS
}

end_beside() {
    local name
    for name in "${!BESIDE_PID[@]}"; do
        kill -TERM -- "-${BESIDE_PID[$name]}" 2>/dev/null || true
    done
}

await_beside() {
    local name=$1 rc=0
    wait "${BESIDE_PID[$name]}" || rc=$?
    unset "BESIDE_PID[$name]"
    echo "::: ${name} (ran beside other stages)"
    cat "${BESIDE_LOG[$name]}"
    rm -f "${BESIDE_LOG[$name]}"
    local took=$((SECONDS - BESIDE_START[$name]))
    if ((rc == 0)); then
        echo "::: ${name}: ok (${took} s wall, beside other stages, $(free_disk) free)"
    else
        echo "::: ${name}: FAILED with status ${rc} (${took} s wall, $(free_disk) free)"
        exit "$rc"
    fi
}
