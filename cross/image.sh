#!/usr/bin/env bash
# The local image `cross` builds the board binaries in (cross/local-image.toml names it): Debian
# bookworm made by mmdebstrap from Debian's packages, imported with `podman import`. No registry
# is involved and nothing is installed at build time.
#
#   bash cross/image.sh          # make it if it is missing or stale (its recipe changed)
#   bash cross/image.sh --key    # print the recipe's key only
#
# Cached by its recipe: the key (a hash of the suite, mirror, architectures, package list and
# dpkg options) is a label of the image; an image without the current key is made again and the
# old one removed. Needs root (mmdebstrap --mode=root, rootful podman), as the CI machines run;
# .ci/cross-prereqs.sh installs mmdebstrap, podman and runc.
set -euo pipefail
# shellcheck source=/dev/null
. "$(dirname "$0")/env.sh"

SUITE=bookworm
MIRROR="deb http://deb.debian.org/debian $SUITE main"
# amd64 runs the build; arm64 as a second dpkg architecture for musl-dev:arm64 only.
ARCHITECTURES=amd64,arm64
# What the builds need, by Debian package name (versions: whatever bookworm has when the image is
# made; .ci/cross-compare.sh compares the result with the container-free build of the same
# commit). The same tools .ci/ship-prereqs.sh installs on the host for the container-free path:
PACKAGES=(
    # the host's C compiler and libc headers: cargo links build scripts and proc macros with `cc`;
    gcc libc6-dev
    # bindgen (v4l2-sys-mit): clang finds the target's include paths, libclang parses the
    # headers (the library alone: libclang-dev would add 200 MB of static archives);
    clang libclang1-14
    # libjpeg-turbo (turbojpeg-sys builds it through CMake);
    cmake make pkg-config
    # aarch64-unknown-linux-gnu: gcc drives the link, the arm64 glibc and kernel headers;
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross
    # armv7-unknown-linux-gnueabihf: likewise for armhf;
    gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
    # aarch64-unknown-linux-musl: /usr/bin/aarch64-linux-musl-gcc (aarch64-linux-gnu-gcc with
    # musl's specs), musl's headers and libc (docs/shipping.md).
    musl-dev:arm64
)
# What a build never reads: documentation, manual pages, translations.
DPKG_OPTIONS=(
    --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/locale/*'
    --dpkgopt='path-exclude=/usr/share/doc/*'
)
KEY_LABEL=enrolld.cross.key

say() { printf 'cross image: %s\n' "$*" >&2; }
die() {
    say "$*"
    exit 1
}

recipe_key() {
    {
        echo "$SUITE $ARCHITECTURES $MIRROR"
        printf '%s\n' "${PACKAGES[@]}" "${DPKG_OPTIONS[@]}"
    } | sha256sum | cut -c1-16
}

# The key label of an image ("" when there is no such image).
image_key() {
    podman image inspect --format "{{ index .Labels \"$KEY_LABEL\" }}" "$1" 2>/dev/null || true
}

# podman runs the image with cross's container options, and every target's C compiler is in it.
check_image() {
    local image=$1
    cross_podman_check "$image" || return 1
    # shellcheck disable=SC2086 # the options are words
    podman run --rm $CROSS_CONTAINER_OPTS "$image" sh -c \
        'for tool in cc clang cmake make aarch64-linux-gnu-gcc arm-linux-gnueabihf-gcc aarch64-linux-musl-gcc; do
             command -v "$tool" >/dev/null || { echo "missing: $tool"; exit 1; }
         done'
}

make_image() {
    local key=$1 staging="localhost/enrolld-cross:staging-$1" old
    say "making $CROSS_IMAGE (recipe $key): mmdebstrap $SUITE + ${PACKAGES[*]}"
    # Imported under a staging name first: a failed or cut-short mmdebstrap must not leave an
    # image under the real name carrying the current key.
    mmdebstrap --format=tar --variant=apt --architectures="$ARCHITECTURES" \
        --include="$(
            IFS=,
            echo "${PACKAGES[*]}"
        )" "${DPKG_OPTIONS[@]}" "$SUITE" - "$MIRROR" |
        podman import --quiet --change "LABEL $KEY_LABEL=$key" - "$staging" >/dev/null
    check_image "$staging" || die "the new image $staging does not run or lacks a tool (above); its packages are listed in cross/image.sh"
    old=$(podman image inspect --format '{{.Id}}' "$CROSS_IMAGE" 2>/dev/null || true)
    podman tag "$staging" "$CROSS_IMAGE"
    podman untag "$staging" "$staging"
    # The image of the previous recipe, now without a name.
    if [ -n "$old" ] && [ "$old" != "$(podman image inspect --format '{{.Id}}' "$CROSS_IMAGE")" ]; then
        podman rmi "$old" >/dev/null || say "could not remove the previous image $old (in use?)"
    fi
    say "made $CROSS_IMAGE ($(podman image inspect --format '{{.Size}}' "$CROSS_IMAGE" | numfmt --to=iec) bytes)"
}

main() {
    [ "$(printf '%s\n' "$CROSS_IMAGE" | wc -l)" = 1 ] ||
        die "cross/local-image.toml names more than one image: ${CROSS_IMAGE//$'\n'/ }"
    local key
    key=$(recipe_key)
    if [ "${1:-}" = --key ]; then
        echo "$key"
        return 0
    fi
    cross_env
    command -v mmdebstrap >/dev/null || die "mmdebstrap is missing: run bash .ci/cross-prereqs.sh"
    command -v podman >/dev/null || die "podman is missing: run bash .ci/cross-prereqs.sh"
    local have
    have=$(image_key "$CROSS_IMAGE")
    if [ "$have" = "$key" ]; then
        say "$CROSS_IMAGE is current (recipe $key)"
        return 0
    fi
    if [ -z "$have" ]; then
        say "$CROSS_IMAGE is missing"
    else
        say "$CROSS_IMAGE is stale (recipe $have, now $key)"
    fi
    make_image "$key"
}

main "$@"
