#!/usr/bin/env bash
# Real-kernel test stage for one guest architecture:
#   tests/real_kernel/run.sh x86_64|aarch64
#
# Fetches a Debian kernel (+ headers, source, busybox-static) through apt,
# builds gpio-sim.ko out of tree and enrolld as a static musl binary, packs an
# initramfs with the guest scenarios, boots it under QEMU (TCG) and leaves the
# guest's serial output in target/real-kernel/<arch>/serial.log. The verdict is
# read from that log by tests/real_kernel.rs; this script's exit status only
# says whether the guest could be built and booted:
#   0  the guest ran (whatever it reported)     77  a prerequisite is missing
#   1  anything else failed (named on stderr)
# Everything downloaded or built is cached under target/real-kernel/.
# RK_SCENARIOS=bench runs the latency benchmarks of tests/real_kernel/guest/bench/
# instead of the scenarios, logging to serial-bench.log (benches/run.sh does).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RK_CACHE=${RK_CACHE:-$REPO/target/real-kernel}
ARCH=${1:?usage: run.sh x86_64|aarch64}
# Guest wall-clock limit; a guest that is still running then is killed and its
# missing ENROLLD-DONE line fails the test.
RK_BOOT_TIMEOUT=${RK_BOOT_TIMEOUT:-480}

step() { echo "real-kernel[$ARCH]: $*" >&2; }
die() { echo "real-kernel[$ARCH]: ERROR: $*" >&2; exit 1; }
missing() { echo "MISSING $*"; echo "real-kernel[$ARCH]: missing prerequisite: $*" >&2; exit 77; }
# Runs a build step quietly into a log, showing the log's tail if it fails.
logged() { # name command...
    local name=$1 log=$RK_CACHE/$ARCH/logs/$1.log
    shift
    mkdir -p "$(dirname "$log")"
    if ! "$@" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        die "$name failed (full log: $log)"
    fi
}
# Reports how long each stage took, for the README's figures.
timed() { # name command...
    local name=$1 t0 t1
    shift
    t0=$(date +%s.%N)
    "$@"
    t1=$(date +%s.%N)
    printf 'TIMING %s %s %.1fs\n' "$ARCH" "$name" "$(echo "$t1 - $t0" | bc)" >&2
}

case $ARCH in
x86_64)
    DEBARCH=amd64 RUST_TARGET=x86_64-unknown-linux-musl KARCH=x86 CROSS=
    QEMU=(qemu-system-x86_64 -accel tcg -cpu max -M pc -smp 1 -m 512)
    CONSOLE=ttyS0
    ;;
aarch64)
    DEBARCH=arm64 RUST_TARGET=aarch64-unknown-linux-musl KARCH=arm64 CROSS=aarch64-linux-gnu-
    QEMU=(qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 1 -m 512)
    CONSOLE=ttyAMA0
    ;;
*) die "unknown architecture '$ARCH' (x86_64 or aarch64)" ;;
esac
case ${RK_SCENARIOS:-scenarios} in
scenarios) ;;
bench) RK_SERIAL_LOG=${RK_SERIAL_LOG:-serial-bench.log} ;;
*) die "RK_SCENARIOS must be scenarios or bench, not '$RK_SCENARIOS'" ;;
esac
HOSTARCH=$(dpkg --print-architecture 2>/dev/null || echo none)
OUT=$RK_CACHE/$ARCH

. "$HERE/host/kernel-pick.sh"
. "$HERE/host/fetch.sh"
. "$HERE/host/build.sh"
. "$HERE/host/guest.sh"
. "$HERE/host/bench-tools.sh"

# The first thing the static build of a Rust target lacks, or nothing.
target_missing() { # rust-target
    [ -d "$(rustc --print sysroot)/lib/rustlib/$1" ] || { echo "rust target $1 (rustup target add $1)"; return; }
    case $1 in
    x86_64-*) command -v musl-gcc >/dev/null || echo "musl-gcc (package musl-tools)" ;;
    aarch64-*)
        command -v aarch64-linux-gnu-gcc >/dev/null || echo "aarch64-linux-gnu-gcc (package gcc-aarch64-linux-gnu)"
        [ -d /usr/aarch64-linux-gnu/include/linux ] || echo "arm64 Linux UAPI headers (package linux-libc-dev-arm64-cross)"
        ;;
    esac
}

check_prereqs() {
    local c what
    for c in apt-get apt-cache dpkg-deb tar xz make bc gzip strings readelf sha256sum cargo rustc "${QEMU[0]}" "${CROSS}gcc"; do
        command -v "$c" >/dev/null || missing "$c (see .ci/real-kernel-prereqs.sh)"
    done
    [ "$HOSTARCH" = amd64 ] || missing "an amd64 Debian host (this is '$HOSTARCH')"
    what=$(target_missing "$RUST_TARGET" | head -n 1)
    [ -z "$what" ] || missing "$what"
}

main() {
    check_prereqs
    mkdir -p "$OUT"
    timed fetch fetch_all
    timed gpio-sim build_gpio_sim
    timed enrolld build_enrolld
    timed initramfs pack_initramfs
    timed boot boot_guest
}
main
