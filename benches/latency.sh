#!/usr/bin/env bash
# Press-to-request latency in the real-kernel QEMU guest (issue 7):
#   bash benches/latency.sh [x86_64|aarch64]     (default x86_64)
#
# enrolld on-demand and streaming, and the shell-script terminal (gpiomon +
# fswebcam + base64 + curl) without and with one skipped frame, all in one
# guest run; prints median/min/max, the ratios, and where enrolld's time went.
# RK_BENCH_PRESSES (default 20) sets the presses per row; CI runs it once with 2.
# RK_BENCH_REFERENCE=<enrolld binary> (another build for the guest's architecture, from
# benches/latency-reference.sh <commit>) adds a "-reference" row beside each face row, pressed
# alternately with this build in blocks of RK_BENCH_BLOCK presses (default 5) in the same guest
# run, and the ratios this build / the reference: what a change costs.
# Installs what it needs: the real-kernel tests' prerequisites plus the Debian
# packages gpiod, fswebcam and curl on the host (their binaries and libraries
# are copied into the guest). Exit status 1 if a row is missing or failed.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ARCH=${1:-x86_64}
cd "$REPO"

bash .ci/prereqs
bash .ci/real-kernel-prereqs.sh
bash .ci/bench-prereqs.sh

export RK_SCENARIOS=bench RK_BOOT_TIMEOUT=${RK_BOOT_TIMEOUT:-1800}
export RK_BENCH_PRESSES=${RK_BENCH_PRESSES:-20}
# The x86_64 guest's CPU without AVX2, as the systemd guest's (tests/systemd_guest/run.sh says
# why): TCG emulates AVX2 one helper call at a time, and the face check (rten-gemm) and
# libjpeg-turbo take their AVX2 paths when offered, so with it the face rows measured the
# emulation (a face check of several seconds, presses ending as camera faults); a Pi has none.
export RK_QEMU_CPU=${RK_QEMU_CPU:-max,-avx2}
# The release builds for this guest's architecture only (CI has built both already).
export RB_GUEST_TARGET_ONLY=${RB_GUEST_TARGET_ONLY:-$ARCH-unknown-linux-gnu}
bash tests/real_kernel/run.sh "$ARCH"
LOG=${RK_CACHE:-$REPO/target/real-kernel}/$ARCH/serial-bench.log
bash "$REPO/benches/latency-table.sh" "$LOG"
