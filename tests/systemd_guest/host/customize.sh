#!/bin/sh
# mmdebstrap --customize-hook for the systemd guest's root file system (its path is $1): what
# an installed Debian system has and a bootstrapped one lacks, nothing of enrolld's.
set -eu
root=$1

echo enroll-guest >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tenroll-guest\n' >"$root/etc/hosts"
echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' >"$root/etc/fstab"
# A board without a real-time clock: the second boot starts in the past (-rtc base=...), and
# e2fsck must not stop it over a superblock written "in the future". Copied into the initramfs.
printf '[options]\n\tbroken_system_clock = true\n' >"$root/etc/e2fsck.conf"
# The documentation mmdebstrap left out (its dpkg path-excludes, kept in the root file system)
# would also be left out of the packages the guest installs later; a real system installs it
# (the libcamera scenario uses the bridge unit enrolld ships under /usr/share/doc/enrolld).
rm -f "$root/etc/dpkg/dpkg.cfg.d/99mmdebstrap"
# Timers that would reach for the network (the guest has none) or scrub the disk mid-test.
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
# The initramfs only needs the root disk: virtio (PCI on x86_64's pc, MMIO or PCI on arm64's
# virt) and ext4, named here, rather than "most" modules (36 MB to unpack under TCG at every
# boot). The root's type is given: the fsck hook cannot probe /dev/vda from the chroot.
cat >"$root/etc/initramfs-tools/conf.d/enrolld-test" <<'CONF'
MODULES=list
FSTYPE=ext4
CONF
printf '%s\n' virtio_pci virtio_mmio virtio_blk ext4 crc32c_generic >>"$root/etc/initramfs-tools/modules"
# The kernel's postinst made the initramfs before these and e2fsck.conf existed.
chroot "$root" update-initramfs -u -k all
