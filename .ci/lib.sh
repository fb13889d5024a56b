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
