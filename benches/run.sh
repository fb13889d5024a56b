#!/usr/bin/env bash
# Every benchmark, in one run, on this machine:
#   bash benches/run.sh [x86_64|aarch64]     (default x86_64)
#
# 1. the encoder against libjpeg-turbo (cargo bench --bench encode);
# 2. the board builds (.ci/ship-check.sh: stripped sizes per target), then the
#    footprint of `enrolld run` on simulated hardware (cargo bench --bench footprint;
#    FOOTPRINT_IDLE_SECS=60 by default), which prints those sizes too;
#    then the soak (cargo bench --bench soak: 5000 enrollments through the shipped
#    binary, SOAK_ENROLLMENTS sets how many): what must stay flat over months;
# 3. the face check per frame against the encode (cargo bench --bench face);
# 4. press-to-request latency in the real-kernel QEMU guest (benches/latency.sh):
#    enrolld on-demand and streaming, and the shell-script terminal (gpiomon +
#    fswebcam + base64 + curl) without and with one skipped frame; median/min/max,
#    the ratios and enrolld's stage breakdown.
# Installs what it needs (benches/latency.sh lists it).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ARCH=${1:-x86_64}
cd "$REPO"

bash .ci/prereqs
echo "== benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo
echo "== encoder (cargo bench --bench encode)"
cargo bench --quiet --bench encode
echo
echo "== board binaries (bash .ci/ship-check.sh; the footprint bench reads its sizes)"
bash .ci/ship-check.sh
echo
echo "== footprint (cargo bench --bench footprint)"
cargo bench --quiet --bench footprint
echo
echo "== soak (cargo bench --bench soak)"
cargo bench --quiet --bench soak
echo
echo "== face check (cargo bench --bench face)"
cargo bench --quiet --bench face
echo
echo "== press-to-request latency in the $ARCH real-kernel guest (TCG, 1 vCPU, vivid 1280x720)"
bash benches/latency.sh "$ARCH"
