#!/usr/bin/env bash
# Every benchmark of issue 7, in one run, on this machine:
#   bash benches/run.sh [x86_64|aarch64]     (default x86_64)
#
# 1. the encoder against libjpeg-turbo (cargo bench --bench encode);
# 2. footprint of `enrolld run` on simulated hardware (cargo bench --bench footprint;
#    FOOTPRINT_IDLE_SECS=60 by default);
# 3. press-to-request latency in the real-kernel QEMU guest
#    (tests/real_kernel/run.sh with RK_SCENARIOS=bench): enrolld on-demand and
#    streaming, and the shell-script terminal (gpiomon + fswebcam + base64 + curl)
#    without and with one skipped frame; median/min/max and the ratios.
# Installs what it needs: the real-kernel tests' prerequisites plus the Debian
# packages gpiod, fswebcam and curl on the host (their binaries and libraries
# are copied into the guest).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ARCH=${1:-x86_64}
cd "$REPO"

bash .ci/prereqs
bash .ci/real-kernel-prereqs.sh
missing=()
for p in gpiod fswebcam curl; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

echo "== benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo
echo "== encoder (cargo bench --bench encode)"
cargo bench --quiet --bench encode
echo
echo "== footprint (cargo bench --bench footprint)"
cargo bench --quiet --bench footprint
echo
echo "== press-to-request latency in the $ARCH real-kernel guest (TCG, 1 vCPU, vivid 1280x720)"
export RK_SCENARIOS=bench RK_BOOT_TIMEOUT=${RK_BOOT_TIMEOUT:-1800}
bash tests/real_kernel/run.sh "$ARCH"
LOG=${RK_CACHE:-$REPO/target/real-kernel}/$ARCH/serial-bench.log
bash "$REPO/benches/latency-table.sh" "$LOG"
