#!/usr/bin/env bash
# systemd-guest test stage for one guest architecture:
#   tests/systemd_guest/run.sh x86_64
#
# The package as shipped, under a real systemd: builds enrolld's .deb (release profile, no
# demo feature, `cargo deb`, as docs/shipping.md describes) twice (the version and a
# bumped one for the upgrade), builds a Debian bookworm root file system from Debian's
# packages with mmdebstrap (systemd, udev, dbus, and the same kernel the real-kernel stage
# picks, and libcamera with its GStreamer source; cached under target/systemd-guest/ by its
# recipe), adds the test pieces (gpio-sim.ko, vimc.ko, v4l2loopback.ko, the stand-in, the
# USB camera's feeder and its frames of real photos, the scenarios, the two packages), makes an ext4 image of it and boots it under QEMU (TCG) with
# systemd as PID 1. The guest installs the package itself, as README's install steps say, and
# runs the scenarios; its verdict lines arrive on a virtio serial port in
# target/systemd-guest/<arch>/results.log (its console in console.log), both named on stdout
# ("RESULTS <path>", "CONSOLE <path>") for tests/systemd_guest.rs. This script's exit status
# only says whether the guest could be built and booted:
#   0  the guest ran (whatever it reported)     77  a prerequisite is missing
#   1  anything else failed (named on stderr)
# The kernel, its headers and source, gpio-sim.ko, vimc.ko, v4l2loopback.ko and the release
# builds are shared with the real-kernel stage (target/real-kernel/).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RK_HERE=$REPO/tests/real_kernel
RK_CACHE=${RK_CACHE:-$REPO/target/real-kernel}
SG_CACHE=${SG_CACHE:-$REPO/target/systemd-guest}
ARCH=${1:?usage: run.sh x86_64}
# Guest wall-clock limit for both boots together; a guest still running then is killed, and
# its missing ENROLLD-DONE line fails the test.
SG_BOOT_TIMEOUT=${SG_BOOT_TIMEOUT:-1500}

STAGE="systemd-guest[$ARCH]"
OUT=$SG_CACHE/$ARCH
. "$RK_HERE/host/common.sh"
# The guest's CPU without AVX2: TCG emulates AVX2 instructions one helper call at a time, and the
# packaged binary's face check (rten-gemm's kernels) and JPEG code (libjpeg-turbo) take their
# AVX2 paths when the CPU offers them: one face check took 45.6 s under qemu-x86_64 -cpu max and
# 4.3 s with -cpu max,-avx2 on the same loaded host (measured with the rten runner,
# docs/testing.md). Both pick their SSE paths then; the AVX2 ones run natively in the host's
# tests.
RK_QEMU_CPU=${RK_QEMU_CPU:-max,-avx2}
arch_setup
[ "$ARCH" = x86_64 ] || die "only x86_64 is built here so far (docs/testing.md says why)"
. "$RK_HERE/host/kernel-pick.sh"
. "$RK_HERE/host/fetch.sh"
. "$RK_HERE/host/build.sh"
. "$RK_HERE/host/loopback.sh"
. "$HERE/host/packages.sh"
. "$HERE/host/rootfs.sh"
. "$HERE/host/image.sh"

main() {
    check_guest_prereqs "mmdebstrap (package mmdebstrap, see .ci/systemd-guest-prereqs.sh)" \
        "mkfs.ext4 (package e2fsprogs)" "cargo-deb (cargo install cargo-deb, see .ci/ship-prereqs.sh)"
    mkdir -p "$OUT"
    timed fetch fetch_all
    # The modules land where the real-kernel stage keeps them, the release builds are the run's
    # shared ones (each built once).
    OUT=$RK_CACHE/$ARCH timed gpio-sim build_gpio_sim
    OUT=$RK_CACHE/$ARCH timed vimc build_vimc
    timed v4l2loopback-fetch fetch_v4l2loopback
    OUT=$RK_CACHE/$ARCH timed v4l2loopback-build build_v4l2loopback
    OUT=$RK_CACHE/$ARCH timed release-builds build_enrolld
    # The USB camera's feeder and its frames of real photos (the real-kernel stage's).
    timed loopback-tools build_loopback_tools
    timed loopback-frames make_loopback_frames
    timed packages build_packages
    timed rootfs build_rootfs
    timed image make_image
    timed boot boot_guest
    # For tests/real_kernel/harness.rs: where the verdict is, and the console for failures.
    echo "RESULTS $OUT/results.log"
    echo "CONSOLE $OUT/console.log"
}
main
