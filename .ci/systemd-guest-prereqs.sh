#!/usr/bin/env bash
# Installs what the systemd-guest stage (tests/systemd_guest/) needs beyond the real-kernel
# stage's tools (.ci/real-kernel-prereqs.sh: QEMU, the kernel module build, the static builds)
# and the ship checks' (.ci/ship-prereqs.sh: cargo-deb) on a fresh Debian bookworm machine.
# Idempotent: a second run only checks.
#
# - mmdebstrap: the guest's root file system from Debian's packages (runs as root).
# - e2fsprogs: mkfs.ext4 -d, the guest's disk image from a directory.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
missing=()
for p in mmdebstrap e2fsprogs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "systemd-guest-prereqs: installing ${missing[*]}"
    apt-get -o DPkg::Lock::Timeout=900 update -qq
    apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}"
fi
mmdebstrap --version
