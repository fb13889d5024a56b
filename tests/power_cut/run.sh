#!/usr/bin/env bash
# Prepares the power-cut guest (tests/power_cut.rs boots it, once per cut):
#   tests/power_cut/run.sh x86_64
#
# Shares the real-kernel stage's host code and cache (tests/real_kernel/host/, RK_CACHE): the
# same Debian kernel choice and downloads, the same static musl enrolld (built once per CI
# run). Adds what this stage needs: the disk and serial-port modules of that kernel (ext4,
# jbd2, virtio_blk, virtio_console), enrolld built once more with the test-only feature
# test-no-fsync (for the harness's self-test), and an initramfs of busybox, both builds and
# the guest scripts of tests/power_cut/guest/. Prints for the Rust side, one per line:
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

# enrolld with fsync turned off, for the self-test only. Built first, so the shared build
# that follows leaves the ordinary binary at the path the other stages use (cargo keeps both
# builds apart by their features and only copies the one asked for last into place).
build_nofsync() {
    (
        . "$RK_HERE/target-env.sh" "$RUST_TARGET"
        cd "$REPO"
        logged enrolld-nofsync-build cargo build --locked --target="$RUST_TARGET" \
            "${RK_PROFILE[@]}" --features test-no-fsync --bin enrolld
    )
    local bin=${CARGO_TARGET_DIR:-$REPO/target}/$RUST_TARGET/real-kernel/enrolld
    mkdir -p "$OUT"
    cp "$bin" "$OUT/enrolld-nofsync"
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
    cp "$OUT/enrolld-nofsync" "$t/enrolld-nofsync"
    # shellcheck disable=SC2034 # read by order_modules (host/guest.sh)
    KERNEL_ROOT=$MODULE_ROOT GPIO_SIM_KO= order_modules "$t" "${DISK_MODULES[@]}"
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
    timed initramfs pack_power_cut_initramfs
    echo "KERNEL $(ls "$KERNEL_ROOT"/boot/vmlinuz-* | head -n 1)"
    echo "INITRD $INITRD"
    echo "QEMU ${QEMU[*]}"
    echo "OUT $OUT"
}
main
