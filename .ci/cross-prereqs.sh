#!/usr/bin/env bash
# Installs and checks what the `cross` builds of the board binaries need (.ci/release-builds.sh)
# on a fresh Debian bookworm machine, and nothing when it is already there:
#   - podman with runc (its default runtime, crun, fails here), mmdebstrap for the image;
#   - cross itself (cargo install, pinned), the pinned Rust toolchain with the board targets;
#   - the local image (cross/image.sh: made when missing or stale);
#   - podman actually running a container with the settings of cross/containers.conf; when it
#     does not, the message names the setting and the fix.
# cross/env.sh has the pins and the settings; cross/README.md explains them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=/dev/null
. "$here/lib.sh"
# shellcheck source=/dev/null
. "$here/../cross/env.sh"

die() {
    printf 'cross-prereqs: %s\n' "$*" >&2
    exit 1
}

apt_install_missing cross-prereqs podman runc mmdebstrap

# Not `cross --version`: in a workspace that runs all of cross, which for the default toolchain
# asks rustup to update `stable` (cross 0.2.5 does not recognise rustup's "(active, default)").
if ! cargo install --list | grep -qx "cross v$CROSS_VERSION:"; then
    cargo install cross --version "$CROSS_VERSION" --locked
fi

# The pinned toolchain and the standard libraries of the targets cross builds.
rustup toolchain list | grep -q "^$CROSS_TOOLCHAIN-" ||
    rustup toolchain install "$CROSS_TOOLCHAIN" --profile minimal ||
    die "the pinned toolchain $CROSS_TOOLCHAIN (cross/env.sh) is not installed and rustup could not install it"
installed=$(rustup target list --installed --toolchain "$CROSS_TOOLCHAIN")
for target in "${CROSS_TARGETS[@]}"; do
    grep -qx "$target" <<<"$installed" || rustup target add --toolchain "$CROSS_TOOLCHAIN" "$target"
done

bash "$here/../cross/image.sh"

# podman runs the image with cross's options, or the setting that fixes it is named.
cross_podman_check || exit 1
# Those messages, proven on this machine: with either setting left out, podman either still runs
# (the setting is not needed here) or fails with a message naming that setting.
conf=$(mktemp "${TMPDIR:-/tmp}/containers-XXXXXX.conf")
for setting in runtime default_ulimits; do
    grep -v "^$setting = " "$here/../cross/containers.conf" >"$conf"
    if out=$(cross_podman_check "$CROSS_IMAGE" "$conf" 2>&1); then
        echo "cross-prereqs: podman runs here without $setting (cross/containers.conf) too"
    else
        grep -q "cross: .*$setting" <<<"$out" || {
            rm -f "$conf"
            die "without $setting, podman fails here and the message does not name it: $out"
        }
        echo "cross-prereqs: without $setting podman fails here, and the message names it: $(grep '^cross: ' <<<"$out")"
    fi
done
rm -f "$conf"
echo "cross-prereqs: cross $CROSS_VERSION, toolchain $CROSS_TOOLCHAIN, podman $(podman version --format '{{.Client.Version}}') runs $CROSS_IMAGE"
