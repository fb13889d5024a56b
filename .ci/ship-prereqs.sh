#!/usr/bin/env bash
# Installs what .ci/ship-check.sh needs on a fresh Debian bookworm machine (as root), with Rust
# already installed through rustup. Idempotent: safe to run again.
set -euo pipefail

CARGO_DEB_VERSION=3.8.0

# arm64 as a foreign dpkg architecture, only to install musl-dev:arm64: its multiarch files
# give /usr/bin/aarch64-linux-musl-gcc (aarch64-linux-gnu-gcc + musl specs, headers, crt, libc),
# the C compiler for the aarch64-unknown-linux-musl target. Nothing else comes from arm64.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
    gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross \
    gcc-arm-linux-gnueabihf g++-arm-linux-gnueabihf libc6-dev-armhf-cross \
    musl-tools musl-dev:arm64 \
    clang libclang-dev cmake nasm pkg-config make \
    binutils file dpkg-dev lintian systemd qemu-user

# Rust standard libraries for the three board targets.
rustup target add aarch64-unknown-linux-gnu aarch64-unknown-linux-musl armv7-unknown-linux-gnueabihf

# cargo-deb, pinned: the package layout and maintainer-script fragments depend on its version.
if ! cargo deb --version 2>/dev/null | grep -q "$CARGO_DEB_VERSION"; then
    cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked
fi
