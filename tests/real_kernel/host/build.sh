# Sourced by run.sh. Builds what goes into the guest: gpio-sim.ko (out of
# tree, against the downloaded headers) and enrolld (static, musl).

# Debian's 6.1 kernels ship without CONFIG_GPIO_SIM (and without IRQ_SIM, which
# it needs), so both are built here as one module from linux-source-6.1.
build_gpio_sim() {
    local kdir=$HEADERS_DIR/usr/src/linux-headers-$KABI-$DEBARCH
    local common=$HEADERS_DIR/usr/src/linux-headers-$KABI-common
    local build=$OUT/gpio-sim
    GPIO_SIM_KO=$build/gpio-sim.ko
    if [ -e "$GPIO_SIM_KO" ] && [ "$GPIO_SIM_KO" -nt "$SRC_DIR/.done" ] &&
        [ "$GPIO_SIM_KO" -nt "$HERE/host/build.sh" ]; then
        return 0
    fi
    # The arch headers' Makefile includes the common tree by absolute path
    # (/usr/src/...); point it at the unpacked copy.
    sed -i "s|^include /usr/src/linux-headers-$KABI-common/Makefile|include $common/Makefile|" "$kdir/Makefile"
    grep -q "^include $common/Makefile" "$kdir/Makefile" || die "unexpected $kdir/Makefile layout"

    rm -rf "$build"
    mkdir -p "$build"
    cp "$SRC_DIR/gpio-sim.c" "$build/gpio-sim-main.c"
    cp "$SRC_DIR/gpiolib.h" "$build/"
    cp "$HERE/gpio-sim/Kbuild" "$build/Kbuild"
    # irq_to_desc() is not exported to modules; generic_handle_irq_safe() does
    # the same dispatch (edge events included) through an exported symbol.
    sed 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq_safe(irqnum);/' \
        "$SRC_DIR/irq_sim.c" >"$build/irq_sim.c"
    grep -q 'generic_handle_irq_safe(irqnum);' "$build/irq_sim.c" ||
        die "irq_sim.c in $KVER no longer has the line the gpio-sim build patches"

    logged gpio-sim-build make -C "$kdir" M="$build" ARCH="$KARCH" CROSS_COMPILE="$CROSS" modules
    [ -e "$GPIO_SIM_KO" ] || die "gpio-sim.ko was not produced (log: $OUT/logs/gpio-sim-build.log)"
}

# enrolld as a static musl binary for the guest. The per-target compiler and
# linker settings live in target-env.sh (shared with the board cross builds).
build_enrolld() {
    # A light profile: optimised enough for JPEG work under TCG, without the
    # release profile's fat LTO, which would cost minutes per architecture.
    local profile=(--config 'profile.real-kernel.inherits="dev"'
        --config 'profile.real-kernel.debug=false'
        --config 'profile.real-kernel.strip=true'
        --profile real-kernel)
    (
        . "$HERE/target-env.sh" "$RUST_TARGET"
        cd "$REPO"
        logged "enrolld-$RUST_TARGET" cargo build --locked --target "$RUST_TARGET" "${profile[@]}" --bin enrolld
    )
    ENROLLD_BIN=$REPO/target/$RUST_TARGET/real-kernel/enrolld
    [ -x "$ENROLLD_BIN" ] || die "no enrolld binary at $ENROLLD_BIN"
    if file "$ENROLLD_BIN" 2>/dev/null | grep -q 'dynamically linked'; then
        die "$ENROLLD_BIN is dynamically linked; the guest has no libc"
    fi
}
