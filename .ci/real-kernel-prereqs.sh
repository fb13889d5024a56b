#!/usr/bin/env bash
# Installs what the real-kernel test stage (tests/real_kernel/) needs on a fresh
# Debian bookworm machine. Idempotent: a second run only checks.
#
# - qemu-system-x86 / qemu-system-arm from bookworm-backports: the machine's
#   qemu-utils already comes from backports (10.x), and bookworm's own 7.2
#   qemu-system packages would remove it.
# - musl-tools: musl-gcc, the C compiler for the x86_64 static build's C deps.
# - gcc-aarch64-linux-gnu / g++-aarch64-linux-gnu: cross compiler for gpio-sim.ko
#   (arm64) and the linker / C compiler of the aarch64 static build.
# - linux-kbuild-6.1, make, bc, flex, bison, libelf-dev, libssl-dev: the
#   out-of-tree module build (the amd64 headers package depends on kbuild;
#   the arm64 headers are unpacked and pointed at the host's kbuild).
# - dpkg-dev: `dpkg -x` to unpack downloaded .debs (dpkg itself has it; kept
#   explicit for minimal images).
# - rustup targets for the two static musl builds.
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
for p in musl-tools gcc-aarch64-linux-gnu libc6-dev-arm64-cross make bc flex bison \
         libelf-dev libssl-dev linux-kbuild-6.1 cmake nasm clang libclang-dev pkg-config; do
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
    for t in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
        grep -qx "$t" <<<"$installed" || rustup target add "$t"
    done
else
    echo "real-kernel-prereqs: rustup not found; the musl targets must be installed some other way" >&2
    exit 1
fi

qemu-system-x86_64 --version | head -1
qemu-system-aarch64 --version | head -1
