# shellcheck shell=bash disable=SC2034 # the settings are for the scripts that source this file
# Sourced (bash): what every `cross` build on the local-image route shares, in one place: the
# pinned toolchain and cross version, the image, and podman's settings. Used by
# .ci/release-builds.sh (the board builds CI makes), .ci/cross-prereqs.sh (installs and checks
# all of it), cross/image.sh (makes the image) and .ci/cross-compare.sh. cross/README.md explains
# each piece.
#
#   cross_env           exports the environment `cross` and podman read (call it in a subshell)
#   cross_run ...       runs `cross +$CROSS_TOOLCHAIN ...` in that environment
#   cross_podman_check [IMAGE [CONF]]  podman runs the image, or the message names the setting
#                       that fixes it

CROSS_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The Rust toolchain cross mounts into the container (read-only, at /rust), named by version:
# `cross` with the channel name `stable` asks rustup to sync that channel first, which needs the
# network. The container-free comparison (.ci/cross-compare.sh) builds with the same one.
CROSS_TOOLCHAIN=1.95.0
CROSS_VERSION=0.2.5
# The targets cross builds and their image, as cross/local-image.toml names them (read from it,
# so the two cannot disagree): one image, made by cross/image.sh from Debian packages, never
# pulled, with every target's toolchain.
CROSS_LOCAL_CONFIG="$CROSS_REPO/cross/local-image.toml"
mapfile -t CROSS_TARGETS < <(sed -n 's/^\[target\.\(.*\)\]$/\1/p' "$CROSS_LOCAL_CONFIG")
CROSS_IMAGE=$(sed -n 's/^image = "\(.*\)"$/\1/p' "$CROSS_LOCAL_CONFIG" | sort -u)

cross_env() {
    # podman's two settings (runc, no default ulimits), from the repository, not /etc.
    export CONTAINERS_CONF="$CROSS_REPO/cross/containers.conf"
    # cross prefers docker when a `docker` program is on PATH, whatever it is.
    export CROSS_CONTAINER_ENGINE=podman
    # The local image for each target, and nothing installed at build time (no pre-build).
    export CROSS_CONFIG="$CROSS_LOCAL_CONFIG"
    # No network in the container: every crate is fetched before (cargo fetch), and a missing
    # image fails at once instead of podman trying a registry.
    export CROSS_CONTAINER_OPTS="--network=none --pull=never"
    # The toolchain and its targets are installed by .ci/cross-prereqs.sh: cross must not call
    # rustup to add components (rust-src, which it wants otherwise, would need the network).
    export CROSS_CUSTOM_TOOLCHAIN=1
}

cross_run() {
    (
        cross_env
        cd "$CROSS_REPO" || exit
        cross "+$CROSS_TOOLCHAIN" "$@"
    )
}

# podman runs `true` in the image with cross's options; when it cannot, its output and the
# setting of cross/containers.conf (or the package) that fixes it are printed, and it fails.
# CONF (default: cross/containers.conf) is for .ci/cross-prereqs.sh's proof of the messages.
cross_podman_check() {
    local image=${1:-$CROSS_IMAGE} conf=${2:-} out fix
    out=$(
        cross_env
        [ -z "$conf" ] || export CONTAINERS_CONF="$conf"
        # shellcheck disable=SC2086 # the options are words
        podman run --rm $CROSS_CONTAINER_OPTS "$image" true 2>&1
    ) && return 0
    case $out in
        *"image not known"*)
            fix="the image $image is missing: bash cross/image.sh makes it" ;;
        *rlimit*)
            fix="podman could not set the container's resource limits: cross/containers.conf's [containers] default_ulimits = [] avoids it; CONTAINERS_CONF must name that file (cross/env.sh's cross_env sets it)" ;;
        *"OCI runtime"*"not found"*)
            fix="podman has no runc: apt-get install runc (cross/containers.conf's [engine] runtime = \"runc\")" ;;
        *crun* | *hybrid*)
            fix="crun cannot run containers on this machine: cross/containers.conf's [engine] runtime = \"runc\" picks runc; CONTAINERS_CONF must name that file (cross/env.sh's cross_env sets it)" ;;
        *)
            fix="podman cannot run $image with CONTAINERS_CONF=${conf:-$CROSS_REPO/cross/containers.conf} (its output is above)" ;;
    esac
    printf '%s\ncross: %s\n' "$out" "$fix" >&2
    return 1
}
