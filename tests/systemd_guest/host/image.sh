# Sourced by run.sh. The guest's disk (the cached root file system plus this run's test
# pieces, as an ext4 image) and its boot.

# Where the test pieces go in the guest (systemd.sh and the units use the same paths).
SG_GUEST_DIR=usr/local/lib/enrolld-test
# The real-time clock QEMU starts the guest with: in the past, as on a board without an RTC
# battery. The first boot sets the wall clock at once (set-clock); the second keeps it.
SG_RTC_BASE=${SG_RTC_BASE:-2024-06-01T00:00:00}

# Sets IMAGE.
make_image() {
    local stage=$OUT/root t unit target
    rm -rf "$stage"
    mkdir -p "$stage"
    tar -xpf "$ROOTFS_TAR" -C "$stage" --numeric-owner --xattrs --xattrs-include='*' ||
        die "cannot unpack $ROOTFS_TAR"

    t=$stage/$SG_GUEST_DIR
    mkdir -p "$t/scenarios" "$stage/usr/local/bin" "$stage/root/upgrade"
    # The real-kernel guest's helper library (systemd.sh builds on it) and its token.
    install -m 644 "$RK_HERE/guest/lib.sh" "$t/lib.sh"
    install -m 600 "$RK_HERE/guest/token" "$t/token"
    install -m 644 "$HERE/guest/systemd.sh" "$HERE/guest/enrolld.toml" "$t/"
    install -m 755 "$HERE/guest/runner" "$HERE/guest/hw-setup" "$HERE/guest/set-clock" "$t/"
    install -m 644 "$HERE"/guest/scenarios/*.sh "$t/scenarios/"
    install -m 644 "$GPIO_SIM_KO" "$t/gpio-sim.ko"
    install -m 644 "$VIMC_KO" "$t/vimc.ko"
    install -m 644 "$V4L2LOOPBACK_KO" "$t/v4l2loopback.ko"
    install -m 755 "$STANDIN_BIN" "$t/enrolld-standin"
    install -m 755 "$GPIO_EDGES_BIN" "$stage/usr/local/bin/rk-gpio-edges"
    # The USB camera (enrolld-test-camera.service): the feeder and the frames it plays.
    install -m 755 "$LOOPBACK_FEED_BIN" "$stage/usr/local/bin/rk-loopback-feed"
    mkdir -p "$t/frames"
    install -m 644 "$LOOPBACK_FRAMES"/* "$t/frames/"
    echo "$KABI-$DEBARCH" >"$t/kernel-release"
    # Install step 1 ("copy the package to the terminal"), and the newer build for the upgrade.
    install -m 644 "$DEB" "$stage/root/"
    install -m 644 "$DEB_UPGRADE" "$stage/root/upgrade/"

    install -m 644 "$HERE/guest/enrolld-test.tmpfiles" "$stage/etc/tmpfiles.d/enrolld-test.conf"
    # The test units, enabled as `systemctl enable` would (by their [Install] WantedBy=).
    for unit in "$HERE"/guest/units/*.service; do
        install -m 644 "$unit" "$stage/etc/systemd/system/"
        target=$(sed -n "s/^WantedBy=//p" "$unit")
        mkdir -p "$stage/etc/systemd/system/$target.wants"
        ln -s "../$(basename "$unit")" "$stage/etc/systemd/system/$target.wants/"
    done

    IMAGE=$OUT/disk.img
    rm -f "$IMAGE"
    logged mkfs mkfs.ext4 -q -F -L enroll-root -d "$stage" "$IMAGE" 3G
    rm -rf "$stage"
    step "disk image $(du -h --apparent-size "$IMAGE" | cut -f1) (sparse, $(du -h "$IMAGE" | cut -f1) used)"
}

# Boots the disk with the root file system's own kernel and initramfs; reboots stay in the
# same QEMU (the runner reboots once); the guest powers off at the end. Verdict lines come on a
# virtio serial port into results.log, the console into console.log. `-vga none`: a terminal
# without a panel (the display, on by the package's default, finds none and says so once);
# with QEMU's default VGA, bochs-drm would give the daemon a screen to draw the mirror on under
# TCG, on the one emulated CPU the face check needs.
boot_guest() {
    local results=$OUT/results.log console=$OUT/console.log code=0
    rm -f "$results" "$console"
    step "booting ${QEMU[0]} (TCG, limit ${SG_BOOT_TIMEOUT}s), results: $results, console: $console"
    timeout --kill-after=5 "$SG_BOOT_TIMEOUT" "${QEMU[@]}" -m 1024 -nic none -display none -vga none \
        -monitor none -serial "file:$console" -rtc "base=$SG_RTC_BASE" \
        -drive "file=$IMAGE,format=raw,if=virtio,cache=unsafe" \
        -device virtio-serial-pci,id=vser -chardev "file,id=results,path=$results" \
        -device virtserialport,bus=vser.0,chardev=results,name=enrolld.results \
        -kernel "$VMLINUZ" -initrd "$INITRD" \
        -append "root=/dev/vda rw console=$CONSOLE enrolld_test.now=$(date +%s)" </dev/null || code=$?
    case $code in
    0) ;;
    124 | 137) step "QEMU was stopped after ${SG_BOOT_TIMEOUT}s: the guest did not power off" ;;
    *) step "QEMU exited with status $code" ;;
    esac
    [ -s "$results" ] || die "the guest reported nothing (QEMU status $code); its console: $(tail -n 30 "$console" 2>/dev/null)"
}
