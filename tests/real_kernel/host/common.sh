# Sourced first by the QEMU test stages' run.sh (tests/real_kernel, tests/systemd_guest):
# messages, quiet build steps, timings, what each guest architecture means, and the
# prerequisites both stages share. The caller sets ARCH (x86_64 | aarch64), STAGE (the
# message prefix, e.g. "real-kernel[x86_64]") and OUT (its per-architecture output directory).

step() { echo "$STAGE: $*" >&2; }
die() { echo "$STAGE: ERROR: $*" >&2; exit 1; }
# A missing prerequisite: named on stdout for the Rust test (which fails, unless ENROLLD_SKIP
# names the stage outside CI: .ci/skip) and on stderr for people; exit status 77.
missing() { echo "MISSING $*"; echo "$STAGE: missing prerequisite: $*" >&2; exit 77; }
# Runs a build step quietly into a log, showing the log's tail if it fails.
logged() { # name command...
    local name=$1 log=$OUT/logs/$1.log
    shift
    mkdir -p "$(dirname "$log")"
    if ! "$@" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        die "$name failed (full log: $log)"
    fi
}
# Reports how long each stage took, for the documented figures.
timed() { # name command...
    local name=$1 t0 t1
    shift
    t0=$(date +%s.%N)
    "$@"
    t1=$(date +%s.%N)
    printf 'TIMING %s %s %.1fs\n' "$ARCH" "$name" "$(echo "$t1 - $t0" | bc)" >&2
}

# Sets DEBARCH, RUST_TARGET (the guest binaries' target: the board build's glibc one),
# SYSROOT_LIB (where that target's C library is on this host), KARCH and CROSS (the module
# build), QEMU (the machine, without disks or kernel) and CONSOLE (the guest's serial console).
# RK_QEMU_CPU: the x86_64 guest's CPU model (default max,-avx2, as the systemd guest's run.sh:
# TCG emulates AVX2 one helper call at a time, and the face check and libjpeg-turbo take AVX2
# when offered, so under `max` a press's face check ran past the capture's budget once the
# host was busy; the guests measure enrolld, not the emulator's AVX2).
arch_setup() {
    case $ARCH in
    x86_64)
        DEBARCH=amd64 RUST_TARGET=x86_64-unknown-linux-gnu KARCH=x86 CROSS=
        SYSROOT_LIB=/lib/x86_64-linux-gnu
        QEMU=(qemu-system-x86_64 -accel tcg -cpu "${RK_QEMU_CPU:-max,-avx2}" -M pc -smp 1)
        CONSOLE=ttyS0
        ;;
    aarch64)
        DEBARCH=arm64 RUST_TARGET=aarch64-unknown-linux-gnu KARCH=arm64 CROSS=aarch64-linux-gnu-
        SYSROOT_LIB=/usr/aarch64-linux-gnu/lib
        QEMU=(qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 1)
        CONSOLE=ttyAMA0
        ;;
    *) die "unknown architecture '$ARCH' (x86_64 or aarch64)" ;;
    esac
    HOSTARCH=$(dpkg --print-architecture 2>/dev/null || echo none)
}

# The first thing the release build of a Rust target lacks, or nothing.
target_missing() { # rust-target
    [ -d "$(rustc --print sysroot)/lib/rustlib/$1" ] || { echo "rust target $1 (rustup target add $1)"; return; }
    case $1 in
    aarch64-*)
        command -v aarch64-linux-gnu-gcc >/dev/null || echo "aarch64-linux-gnu-gcc (package gcc-aarch64-linux-gnu)"
        [ -e /usr/aarch64-linux-gnu/lib/libc.so.6 ] || echo "the arm64 C library (package libc6-dev-arm64-cross)"
        [ -d /usr/aarch64-linux-gnu/include/linux ] || echo "arm64 Linux UAPI headers (package linux-libc-dev-arm64-cross)"
        ;;
    esac
}

# What fetching the kernel, building gpio-sim.ko and the static guest tools, and booting need;
# extra commands (the caller's own) as arguments, each "command (where it comes from)".
check_guest_prereqs() { # ["command (package)"]...
    local c what
    for c in apt-get apt-cache dpkg-deb tar xz make bc gzip strings readelf sha256sum cargo rustc "${QEMU[0]}" "${CROSS}gcc"; do
        command -v "$c" >/dev/null || missing "$c (see .ci/real-kernel-prereqs.sh)"
    done
    for c in "$@"; do
        command -v "${c%% *}" >/dev/null || missing "$c"
    done
    [ "$HOSTARCH" = amd64 ] || missing "an amd64 Debian host (this is '$HOSTARCH')"
    what=$(target_missing "$RUST_TARGET" | head -n 1)
    [ -z "$what" ] || missing "$what"
}
