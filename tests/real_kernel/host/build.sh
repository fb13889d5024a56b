# Sourced by run.sh (here and in tests/systemd_guest; RK_HERE is this stage's directory).
# Builds what goes into the guests: gpio-sim.ko and vimc.ko (out of tree, against the downloaded
# headers), and finds enrolld and the guest tools among the shared release builds.

# Sets KBUILD_DIR, the unpacked headers tree out-of-tree modules are built against
# (make -C "$KBUILD_DIR" M=...), made ready first: the arch headers' Makefile includes the common
# tree by absolute path (/usr/src/..., or an earlier location of this cache); it is pointed at
# the unpacked copy.
prepare_kbuild() {
    local common=$HEADERS_DIR/usr/src/linux-headers-$KABI-common
    KBUILD_DIR=$HEADERS_DIR/usr/src/linux-headers-$KABI-$DEBARCH
    sed -i "s|^include /.*/linux-headers-$KABI-common/Makefile\$|include $common/Makefile|" "$KBUILD_DIR/Makefile"
    grep -q "^include $common/Makefile" "$KBUILD_DIR/Makefile" || die "unexpected $KBUILD_DIR/Makefile layout"
}

# Debian's 6.1 kernels ship without CONFIG_GPIO_SIM (and without IRQ_SIM, which
# it needs), so both are built here as one module from linux-source-6.1.
build_gpio_sim() {
    local build=$OUT/gpio-sim
    GPIO_SIM_KO=$build/gpio-sim.ko
    if [ -e "$GPIO_SIM_KO" ] && [ "$GPIO_SIM_KO" -nt "$SRC_DIR/.done" ] &&
        [ "$GPIO_SIM_KO" -nt "$RK_HERE/host/build.sh" ]; then
        return 0
    fi
    prepare_kbuild

    rm -rf "$build"
    mkdir -p "$build"
    cp "$SRC_DIR/gpio-sim.c" "$build/gpio-sim-main.c"
    cp "$SRC_DIR/gpiolib.h" "$build/"
    cp "$RK_HERE/gpio-sim/Kbuild" "$build/Kbuild"
    # irq_to_desc() is not exported to modules; generic_handle_irq_safe() does
    # the same dispatch (edge events included) through an exported symbol.
    sed 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq_safe(irqnum);/' \
        "$SRC_DIR/irq_sim.c" >"$build/irq_sim.c"
    grep -q 'generic_handle_irq_safe(irqnum);' "$build/irq_sim.c" ||
        die "irq_sim.c in $KVER no longer has the line the gpio-sim build patches"

    logged gpio-sim-build make -C "$KBUILD_DIR" M="$build" ARCH="$KARCH" CROSS_COMPILE="$CROSS" modules
    [ -e "$GPIO_SIM_KO" ] || die "gpio-sim.ko was not produced (log: $OUT/logs/gpio-sim-build.log)"
}

# vimc (the virtual media-controller camera: sensors, debayers, scaler, capture nodes) is the
# camera libcamera drives in the systemd guest, as it drives a Pi Camera Module's sensor and
# ISP. Debian's 6.1 kernels build everything vimc's Kconfig depends on and selects, but not vimc
# itself (# CONFIG_VIDEO_VIMC is not set), so it is built here from linux-source-6.1 with its
# own Makefile; the media modules it needs are loaded from Debian's kernel (modinfo depends=).
VIMC_NEEDS="VIDEO_DEV MEDIA_CONTROLLER VIDEO_V4L2_SUBDEV_API VIDEOBUF2_VMALLOC VIDEOBUF2_DMA_CONTIG VIDEO_V4L2_TPG FONT_SUPPORT FONT_8x16"
build_vimc() {
    local build=$OUT/vimc opt missing_opts='' undefined
    VIMC_KO=$build/vimc.ko
    if [ -e "$VIMC_KO" ] && [ "$VIMC_KO" -nt "$SRC_DIR/.done" ] &&
        [ "$VIMC_KO" -nt "$RK_HERE/host/build.sh" ]; then
        return 0
    fi
    prepare_kbuild
    [ -e "$SRC_DIR/vimc/Makefile" ] || die "no vimc source in $SRC_DIR (fetch_all extracts it)"
    # What vimc's Kconfig asks of the kernel, checked against the kernel's own configuration,
    # so a kernel built without one fails here naming it rather than at insmod in the guest.
    for opt in $VIMC_NEEDS; do
        grep -qE "^CONFIG_$opt=[ym]\$" "$KBUILD_DIR/.config" || missing_opts="$missing_opts CONFIG_$opt"
    done
    [ -z "$missing_opts" ] ||
        die "kernel $KABI-$DEBARCH lacks what vimc needs:$missing_opts (vimc's Kconfig); pick another kernel (RK_KERNEL_ABI)"
    rm -rf "$build"
    cp -r "$SRC_DIR/vimc" "$build"
    logged vimc-build make -C "$KBUILD_DIR" M="$build" ARCH="$KARCH" CROSS_COMPILE="$CROSS" CONFIG_VIDEO_VIMC=m modules
    [ -e "$VIMC_KO" ] || die "vimc.ko was not produced (log: $OUT/logs/vimc-build.log)"
    # modpost only warns about symbols the kernel does not export; insmod would then fail.
    undefined=$(sed -n 's/.*WARNING: modpost: "\([^"]*\)".* undefined!.*/\1/p' "$OUT/logs/vimc-build.log" | tr '\n' ' ')
    [ -z "$undefined" ] ||
        die "vimc.ko uses symbols kernel $KABI-$DEBARCH does not export: $undefined(log: $OUT/logs/vimc-build.log)"
}

# enrolld, the stand-in and the rk-gpio-edges guest tool: the release builds every stage shares
# (.ci/release-builds.sh; cargo does nothing when an earlier stage of the run built them), so the
# guests run exactly the binary the board package ships, fat LTO and all. They are glibc
# programs: the initramfs gets their loader and libraries (guest.sh pack_runtime).
build_enrolld() {
    # shellcheck source=/dev/null
    . "$REPO/.ci/release-builds.sh" --paths
    logged release-builds bash "$REPO/.ci/release-builds.sh" guests
    ENROLLD_BIN=$(rb_bin "$RUST_TARGET" enrolld)
    STANDIN_BIN=$(rb_bin "$RUST_TARGET" enrolld-standin)
    GPIO_EDGES_BIN=$(rb_bin "$RUST_TARGET" rk-gpio-edges)
    for t in "$ENROLLD_BIN" "$STANDIN_BIN" "$GPIO_EDGES_BIN"; do
        [ -x "$t" ] || die "no binary at $t"
    done
}
