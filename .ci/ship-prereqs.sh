#!/usr/bin/env bash
# Installs what .ci/ship-check.sh needs on a fresh Debian bookworm machine (Rust already
# installed through rustup), and nothing when it is already there. Safe to run repeatedly.
set -euo pipefail
# shellcheck source=/dev/null
. "$(dirname "$0")/lib.sh"

CARGO_DEB_VERSION=3.8.0

APT_PACKAGES=(
    # Cross toolchains for the glibc board targets (gcc drives the link; g++ for CMake's probe).
    gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross
    gcc-arm-linux-gnueabihf g++-arm-linux-gnueabihf libc6-dev-armhf-cross
    # musl: host musl-gcc for x86_64-unknown-linux-musl, and musl-dev:arm64 whose multiarch
    # files give /usr/bin/aarch64-linux-musl-gcc (aarch64-linux-gnu-gcc + musl specs, headers,
    # crt, libc): the C compiler for aarch64-unknown-linux-musl.
    musl-tools musl-dev:arm64
    # bindgen (v4l2-sys-mit) and libjpeg-turbo (turbojpeg-sys, via CMake).
    clang libclang-dev cmake nasm pkg-config make
    # Binary checks, running the board binaries, packaging, unit checks.
    binutils file qemu-user dpkg-dev lintian systemd
)

SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO=sudo

# arm64 as a foreign dpkg architecture, only for musl-dev:arm64 (nothing else comes from it).
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "ship-prereqs: adding dpkg architecture arm64 (for musl-dev:arm64)"
    $SUDO dpkg --add-architecture arm64
    $SUDO apt-get update -qq
fi

apt_install_missing ship-prereqs "${APT_PACKAGES[@]}"

# Rust standard libraries for the three board targets.
installed_targets=$(rustup target list --installed)
for target in aarch64-unknown-linux-gnu aarch64-unknown-linux-musl armv7-unknown-linux-gnueabihf; do
    grep -qx "$target" <<<"$installed_targets" || rustup target add "$target"
done

# cargo-deb, pinned: the package layout and maintainer-script fragments depend on its version.
if ! cargo deb --version 2>/dev/null | grep -qx "cargo-deb $CARGO_DEB_VERSION"; then
    cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked
fi

# cross, podman and the local image: the board binaries are built with cross (.ci/release-builds.sh).
bash "$(dirname "$0")/cross-prereqs.sh"
