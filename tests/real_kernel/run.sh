#!/usr/bin/env bash
# Real-kernel test stage for one guest architecture:
#   tests/real_kernel/run.sh x86_64|aarch64
#
# Fetches a Debian kernel (+ headers, source, busybox-static, v4l2loopback-dkms)
# through apt, builds gpio-sim.ko and v4l2loopback.ko out of tree, takes enrolld
# and the guest tools from the release builds, makes the camera frames from
# photos (host/loopback.sh), packs an
# initramfs with the guest scenarios, boots it under QEMU (TCG) and leaves the
# guest's serial output in target/real-kernel/<arch>/serial.log. The verdict is
# read from that log (named on stdout as "RESULTS <path>") by
# tests/real_kernel.rs; this script's exit status only
# says whether the guest could be built and booted:
#   0  the guest ran (whatever it reported)     77  a prerequisite is missing
#   1  anything else failed (named on stderr)
# Everything downloaded or built is cached under target/real-kernel/.
# RK_SCENARIOS=bench runs the latency benchmarks of tests/real_kernel/guest/bench/
# instead of the scenarios, logging to serial-bench.log (benches/run.sh does).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RK_HERE=$HERE
REPO=$(cd "$HERE/../.." && pwd)
RK_CACHE=${RK_CACHE:-$REPO/target/real-kernel}
ARCH=${1:?usage: run.sh x86_64|aarch64}
# Guest wall-clock limit; a guest that is still running then is killed and its
# missing ENROLLD-DONE line fails the test.
RK_BOOT_TIMEOUT=${RK_BOOT_TIMEOUT:-480}

STAGE="real-kernel[$ARCH]"
OUT=$RK_CACHE/$ARCH
. "$HERE/host/common.sh"
arch_setup
QEMU+=(-m 512)
case ${RK_SCENARIOS:-scenarios} in
scenarios) ;;
bench) RK_SERIAL_LOG=${RK_SERIAL_LOG:-serial-bench.log} ;;
*) die "RK_SCENARIOS must be scenarios or bench, not '$RK_SCENARIOS'" ;;
esac
. "$HERE/host/kernel-pick.sh"
. "$HERE/host/fetch.sh"
. "$HERE/host/build.sh"
. "$HERE/host/guest.sh"
. "$HERE/host/bench-tools.sh"
. "$HERE/host/loopback.sh"

main() {
    check_guest_prereqs
    mkdir -p "$OUT"
    timed fetch fetch_all
    timed gpio-sim build_gpio_sim
    timed enrolld build_enrolld
    loopback_all
    timed initramfs pack_initramfs
    timed boot boot_guest
    # For tests/real_kernel/harness.rs: where the verdict is.
    echo "RESULTS $OUT/${RK_SERIAL_LOG:-serial.log}"
}
main
