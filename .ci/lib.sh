# Shared by the .ci scripts: run a named step and report its duration, so a
# slow or failing stage is obvious in CI output.
step() {
    local name=$1
    shift
    local start=$SECONDS
    echo "::: ${name}"
    if "$@"; then
        echo "::: ${name}: ok ($((SECONDS - start)) s)"
    else
        local rc=$?
        echo "::: ${name}: FAILED with status ${rc} ($((SECONDS - start)) s)"
        exit "$rc"
    fi
}
