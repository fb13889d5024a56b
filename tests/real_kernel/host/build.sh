# Sourced by run.sh (here and in tests/systemd_guest; RK_HERE is this stage's directory).
# Builds what goes into the guests: gpio-sim.ko (out of tree, against the downloaded headers)
# and enrolld (static, musl).

# Debian's 6.1 kernels ship without CONFIG_GPIO_SIM (and without IRQ_SIM, which
# it needs), so both are built here as one module from linux-source-6.1.
build_gpio_sim() {
    local kdir=$HEADERS_DIR/usr/src/linux-headers-$KABI-$DEBARCH
    local common=$HEADERS_DIR/usr/src/linux-headers-$KABI-common
    local build=$OUT/gpio-sim
    GPIO_SIM_KO=$build/gpio-sim.ko
    if [ -e "$GPIO_SIM_KO" ] && [ "$GPIO_SIM_KO" -nt "$SRC_DIR/.done" ] &&
        [ "$GPIO_SIM_KO" -nt "$RK_HERE/host/build.sh" ]; then
        return 0
    fi
    # The arch headers' Makefile includes the common tree by absolute path
    # (/usr/src/..., or an earlier location of this cache); point it at the
    # unpacked copy.
    sed -i "s|^include /.*/linux-headers-$KABI-common/Makefile\$|include $common/Makefile|" "$kdir/Makefile"
    grep -q "^include $common/Makefile" "$kdir/Makefile" || die "unexpected $kdir/Makefile layout"

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

    logged gpio-sim-build make -C "$kdir" M="$build" ARCH="$KARCH" CROSS_COMPILE="$CROSS" modules
    [ -e "$GPIO_SIM_KO" ] || die "gpio-sim.ko was not produced (log: $OUT/logs/gpio-sim-build.log)"
}

# enrolld (and the rk-gpio-edges guest tool) as static musl binaries. The per-target compiler and
# linker settings live in target-env.sh (shared with the board cross builds).
# Both guest targets are built in one cargo run when both toolchains are
# there: build scripts and proc-macros are then compiled once, and the second
# architecture's run finds its binary ready.
# The shipped binary's code generation: the release profile's opt-levels (enrolld's own and
# its dependencies'; cmake/cc build the C code at the matching level), panic = "abort" and
# strip, so the scenarios and the latency benchmarks run what a board runs. Only its fat LTO
# is left out: one whole-program link per architecture would cost minutes for little change
# in behaviour (LTO inlines and drops code; it does not change what the code does).
RK_PROFILE=(--config 'profile.real-kernel.inherits="release"'
    --config 'profile.real-kernel.lto=false'
    --profile real-kernel)

build_enrolld() {
    local profile=("${RK_PROFILE[@]}")
    local targets=("$RUST_TARGET") t
    for t in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
        [ "$t" = "$RUST_TARGET" ] || [ -n "$(target_missing "$t")" ] || targets+=("$t")
    done
    # A benchmark run boots one architecture only.
    [ "${RK_SCENARIOS:-scenarios}" != bench ] || targets=("$RUST_TARGET")
    (
        for t in "${targets[@]}"; do . "$RK_HERE/target-env.sh" "$t"; done
        cd "$REPO"
        logged enrolld-build cargo build --locked "${targets[@]/#/--target=}" "${profile[@]}" \
            --bin enrolld --example rk-gpio-edges
    )
    local dir=${CARGO_TARGET_DIR:-$REPO/target}/$RUST_TARGET/real-kernel
    ENROLLD_BIN=$dir/enrolld
    GPIO_EDGES_BIN=$dir/examples/rk-gpio-edges
    for t in "$ENROLLD_BIN" "$GPIO_EDGES_BIN"; do
        [ -x "$t" ] || die "no binary at $t"
        if readelf -l "$t" | grep -q 'program interpreter'; then
            die "$t is dynamically linked; the guest has no libc"
        fi
    done
}
