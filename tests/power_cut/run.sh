#!/usr/bin/env bash
# Prepares the power-cut guest (tests/power_cut.rs boots it, once per cut):
#   tests/power_cut/run.sh x86_64
#
# Shares the real-kernel stage's host code and cache (tests/real_kernel/host/, RK_CACHE): the
# same Debian kernel choice and downloads, and the run's release builds (.ci/release-builds.sh:
# the board build of enrolld and enrolld-standin, glibc programs, their runtime packed beside
# them). Adds what this stage needs: the disk and serial-port modules of that kernel (ext4,
# jbd2, virtio_blk, virtio_console), enrolld built once more with the test-only feature
# test-no-fsync (for the harness's self-test), and an initramfs of busybox, both builds, the
# stand-in and the guest scripts of tests/power_cut/guest/. Prints for the Rust side, one per
# line:
#   KERNEL <vmlinuz>   INITRD <initrd.gz>   QEMU <machine words...>   OUT <output directory>
# Exit status: 0 ready, 77 a prerequisite is missing (named on stdout as MISSING ...),
# 1 anything else (named on stderr).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RK_HERE=$(cd "$HERE/../real_kernel" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RK_CACHE=${RK_CACHE:-$REPO/target/real-kernel}
ARCH=${1:?usage: run.sh x86_64}
STAGE="power-cut[$ARCH]"
OUT=$RK_CACHE/power-cut-$ARCH
. "$RK_HERE/host/common.sh"
[ "$ARCH" = x86_64 ] || die "only x86_64 (docs/testing.md, the power cuts)"
arch_setup
. "$RK_HERE/host/kernel-pick.sh"
. "$RK_HERE/host/fetch.sh"
. "$RK_HERE/host/build.sh"
. "$RK_HERE/host/guest.sh"

# The guest's modules: the disk, its file system and the serial ports of the ledger. Roots
# only; order_modules adds what each depends on (virtio, virtio_ring, jbd2, mbcache, crc16).
# ext4 and jbd2 look up the crc32c checksum through the crypto API at mount time, which
# insmod cannot follow, so crc32c_generic is loaded by name.
DISK_MODULES=(virtio_pci virtio_blk virtio_console crc32c_generic ext4)

unpack_disk_modules() {
    MODULE_ROOT=$RK_CACHE/kernel-$KABI-$DEBARCH-disk
    [ -e "$MODULE_ROOT/.done" ] && return 0
    step "unpacking the disk and serial-port modules"
    rm -rf "$MODULE_ROOT"
    deb_extract "$(deb_path "$DEBARCH" "linux-image-$KABI-$DEBARCH" "$KVER")" "$MODULE_ROOT" \
        './lib/modules/*/kernel/drivers/virtio/*' './lib/modules/*/kernel/drivers/block/virtio_blk.ko' \
        './lib/modules/*/kernel/drivers/char/virtio_console.ko' './lib/modules/*/kernel/fs/ext4/*' \
        './lib/modules/*/kernel/fs/jbd2/*' './lib/modules/*/kernel/fs/mbcache.ko' \
        './lib/modules/*/kernel/lib/crc16.ko' './lib/modules/*/kernel/crypto/crc32c_generic.ko'
    touch "$MODULE_ROOT/.done"
}

# enrolld with fsync turned off, for the self-test only: the board build's command with the
# test-only feature added. Only the enrolld crate is compiled again (its dependencies' features
# are the same, so cargo reuses their release builds), and cargo puts the binary at the release
# build's path, so it is copied aside, and build_enrolld, which runs after this, puts the
# ordinary build back there (cargo copies the build asked for last into place, fresh or not;
# check_builds_apart makes sure).
NOFSYNC_WARNING="built with the test-no-fsync feature"
build_nofsync() {
    # shellcheck source=/dev/null
    . "$REPO/.ci/release-builds.sh" --paths
    (
        cd "$REPO"
        logged enrolld-nofsync-build cargo build --release --locked "${RB_BOARD_FEATURES[@]}" \
            --features test-no-fsync --target "$RUST_TARGET" --bin enrolld
    )
    mkdir -p "$OUT"
    cp "$(rb_bin "$RUST_TARGET" enrolld)" "$OUT/enrolld-nofsync"
}

# The self-test's build says so at start; the ordinary build, back at its path, must not be it.
check_builds_apart() {
    grep -qF "$NOFSYNC_WARNING" "$OUT/enrolld-nofsync" ||
        die "$OUT/enrolld-nofsync lacks the test-no-fsync warning: not the self-test's build"
    ! grep -qF "$NOFSYNC_WARNING" "$ENROLLD_BIN" ||
        die "$ENROLLD_BIN is the test-no-fsync build: the release build was not put back"
}

pack_power_cut_initramfs() {
    local stage=$OUT/initramfs t=$OUT/initramfs/lib/power-cut
    rm -rf "$stage"
    mkdir -p "$stage"/{bin,etc/enrolld,usr/bin,lib/enrolld-test} "$t/modules"
    cp "$BUSYBOX" "$stage/bin/busybox"
    install -m 755 "$HERE/guest/init" "$stage/init"
    cp "$HERE/guest/drive.sh" "$t/"
    cp "$RK_HERE/guest/lib.sh" "$stage/lib/enrolld-test/"
    cp "$HERE/guest/enrolld.toml" "$stage/etc/enrolld/"
    cp "$RK_HERE/guest/token" "$stage/etc/enrolld/"
    chmod 600 "$stage/etc/enrolld/token"
    cp "$ENROLLD_BIN" "$stage/usr/bin/enrolld"
    cp "$STANDIN_BIN" "$stage/usr/bin/enrolld-standin"
    cp "$OUT/enrolld-nofsync" "$t/enrolld-nofsync"
    pack_runtime "$stage" "$ENROLLD_BIN" "$STANDIN_BIN" "$OUT/enrolld-nofsync"
    # shellcheck disable=SC2034 # read by order_modules (host/guest.sh)
    KERNEL_ROOT=$MODULE_ROOT GPIO_SIM_KO= V4L2LOOPBACK_KO= order_modules "$t" "${DISK_MODULES[@]}"
    INITRD=$OUT/initrd.gz
    (cd "$stage" && find . | "$HOST_BUSYBOX" cpio -o -H newc 2>/dev/null | gzip -1 >"$INITRD") ||
        die "packing the initramfs failed"
    step "initramfs $(du -h "$INITRD" | cut -f1), modules: $(awk '{print $1}' "$t/modules.order" | tr '\n' ' ')"
}

main() {
    check_guest_prereqs "mkfs.ext4 (package e2fsprogs, see .ci/systemd-guest-prereqs.sh)"
    mkdir -p "$OUT"
    timed fetch fetch_all
    timed modules unpack_disk_modules
    timed enrolld-nofsync build_nofsync
    timed enrolld build_enrolld
    check_builds_apart
    timed initramfs pack_power_cut_initramfs
    echo "KERNEL $(ls "$KERNEL_ROOT"/boot/vmlinuz-* | head -n 1)"
    echo "INITRD $INITRD"
    echo "QEMU ${QEMU[*]}"
    echo "OUT $OUT"
}
main
