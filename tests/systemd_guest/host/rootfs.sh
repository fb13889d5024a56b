# Sourced by run.sh. The guest's root file system: Debian bookworm from Debian's packages
# (mmdebstrap, as root), with systemd as init, udev, dbus, and the kernel the real-kernel
# stage picked (its downloaded linux-image .deb, so gpio-sim.ko fits it), whose postinst makes
# the initramfs (initramfs-tools) that loads the virtio and ext4 modules and switches root.
# The project's package is not in it: the guest installs that itself.
#
# Cached as a tarball under $SG_CACHE, keyed by its recipe (suite, variant, package list, the
# kernel package and the customize hook), with the kernel and initramfs beside it for QEMU's
# -kernel/-initrd. A recipe change builds a new one and deletes the old.

SG_SUITE=bookworm
SG_VARIANT=apt
# Beyond the variant's Essential:yes + apt: the init system and what the scenarios use (kmod:
# modprobe; procps: ps; passwd: useradd; e2fsprogs: the initramfs' fsck), and what the Pi
# camera's route runs (the libcamera scenario): libcamera with its IPA modules for the vimc
# camera, its GStreamer source and the GStreamer pieces of the bridge unit enrolld ships
# (videoconvert, v4l2sink, gst-launch-1.0). libcamera from bookworm-backports (0.3.2):
# bookworm's 0.0.3 GStreamer source crashed once in six runs of the bridge's pipeline on vimc,
# 0.3.2 in none of five (docs/testing.md); Raspberry Pi OS ships a newer one than either.
SG_PACKAGES="systemd systemd-sysv udev dbus kmod initramfs-tools e2fsprogs procps passwd mawk"
SG_PACKAGES="$SG_PACKAGES libcamera-ipa/bookworm-backports gstreamer1.0-libcamera/bookworm-backports"
SG_PACKAGES="$SG_PACKAGES gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-tools"
# The package's own dependency beyond systemd: the screen's font (the guest has no network for
# apt to fetch it when the .deb is installed).
SG_PACKAGES="$SG_PACKAGES fonts-dejavu-core"
# bookworm-backports beside bookworm, for libcamera: see SG_PACKAGES.
SG_MIRRORS=("deb http://deb.debian.org/debian $SG_SUITE main" "deb http://deb.debian.org/debian $SG_SUITE-backports main")

# Sets ROOTFS_TAR, VMLINUZ, INITRD.
build_rootfs() {
    local kernel_deb key dir tmp
    kernel_deb=$(deb_path "$DEBARCH" "linux-image-$KABI-$DEBARCH" "$KVER")
    key=$({
        echo "$SG_SUITE $SG_VARIANT $DEBARCH"
        echo "$SG_PACKAGES"
        printf '%s\n' "${SG_MIRRORS[@]}"
        basename "$kernel_deb"
        cat "$HERE/host/customize.sh"
    } | sha256sum | cut -c1-16)
    dir=$SG_CACHE/rootfs-$DEBARCH-$key
    ROOTFS_TAR=$dir/rootfs.tar
    VMLINUZ=$dir/vmlinuz
    INITRD=$dir/initrd.img
    if [ -e "$dir/.done" ]; then
        step "root file system: cached ($dir)"
        return 0
    fi
    find "$SG_CACHE" -maxdepth 1 -name "rootfs-$DEBARCH-*" -exec rm -rf {} +
    mkdir -p "$dir"
    tmp=$dir/rootfs.tar.part
    step "root file system: mmdebstrap $SG_SUITE ($SG_VARIANT + $SG_PACKAGES + $(basename "$kernel_deb"))"
    # file-mirror-automount: apt inside the chroot reaches the kernel .deb given by its path.
    # Documentation, manual pages and translations are left out (as mmdebstrap's own example).
    logged mmdebstrap mmdebstrap --mode=root --format=tar --variant="$SG_VARIANT" \
        --architectures="$DEBARCH" --include="$SG_PACKAGES" --include="$kernel_deb" \
        --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-include=/usr/share/locale/locale.alias' \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --customize-hook="$HERE/host/customize.sh" \
        "$SG_SUITE" "$tmp" "${SG_MIRRORS[@]}"
    mv "$tmp" "$ROOTFS_TAR"
    # The kernel and initramfs QEMU boots, as installed (-kernel/-initrd: no boot loader).
    tar -xf "$ROOTFS_TAR" -C "$dir" "./boot/vmlinuz-$KABI-$DEBARCH" "./boot/initrd.img-$KABI-$DEBARCH" ||
        die "the root file system has no /boot/vmlinuz-$KABI-$DEBARCH or initrd.img"
    mv "$dir/boot/vmlinuz-$KABI-$DEBARCH" "$VMLINUZ"
    mv "$dir/boot/initrd.img-$KABI-$DEBARCH" "$INITRD"
    rmdir "$dir/boot"
    touch "$dir/.done"
    step "root file system: $(du -h "$ROOTFS_TAR" | cut -f1), initramfs $(du -h "$INITRD" | cut -f1)"
}
