#!/usr/bin/env bash
# Installs what the real-kernel test stage (tests/real_kernel/) needs on a fresh
# Debian bookworm machine. Idempotent: a second run only checks.
#
# - qemu-system-x86 / qemu-system-arm from bookworm-backports: the machine's
#   qemu-utils already comes from backports (10.x), and bookworm's own 7.2
#   qemu-system packages would remove it.
# - gcc-aarch64-linux-gnu, libc6-dev-arm64-cross (brings the arm64 Linux UAPI
#   headers): gpio-sim.ko for arm64; the arm64 C library the aarch64 guest's
#   enrolld (the board build, glibc) runs with is taken from it.
# - binutils (strings, readelf), xz-utils, make, bc, flex, bison, libelf-dev,
#   libssl-dev: the out-of-tree module build against the downloaded headers
#   (kbuild itself is downloaded at the kernel's version, not installed).
# - cmake, nasm, clang, libclang-dev, pkg-config: enrolld's C dependencies
#   (libjpeg-turbo with SIMD, bindgen for V4L2).
# - rustup targets of the release builds the guests run (.ci/release-builds.sh:
#   the x86_64 and aarch64 glibc board builds), and .ci/cross-prereqs.sh for cross, which makes
#   the aarch64 one.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
SOURCES=/etc/apt/sources.list.d/bookworm-backports.sources

if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    cat >"$SOURCES" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

need_update=1
install_pkgs() {
    if [ "$need_update" = 1 ]; then apt-get -o DPkg::Lock::Timeout=900 update -qq; need_update=0; fi
    apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "$@"
}

missing=()
for p in gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross binutils xz-utils make bc flex bison \
         libelf-dev libssl-dev cmake nasm clang libclang-dev pkg-config; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] || install_pkgs "${missing[@]}"

if ! command -v qemu-system-x86_64 >/dev/null || ! command -v qemu-system-aarch64 >/dev/null; then
    if [ "$need_update" = 1 ]; then apt-get -o DPkg::Lock::Timeout=900 update -qq; need_update=0; fi
    apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends -t bookworm-backports \
        qemu-system-x86 qemu-system-arm
fi

if command -v rustup >/dev/null; then
    installed=$(rustup target list --installed)
    for t in aarch64-unknown-linux-gnu; do
        grep -qx "$t" <<<"$installed" || rustup target add "$t"
    done
else
    echo "real-kernel-prereqs: rustup not found; the aarch64 target must be installed some other way" >&2
    exit 1
fi

# cross, podman and the local image: the aarch64 guest runs the board build, which cross makes
# (.ci/release-builds.sh).
bash "$(dirname "$0")/cross-prereqs.sh"

qemu-system-x86_64 --version | head -1
qemu-system-aarch64 --version | head -1
