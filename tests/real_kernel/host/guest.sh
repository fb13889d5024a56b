# Sourced by run.sh. Packs the guest's initramfs and boots it.

# Module parameters by module name.
declare -A MODULE_PARAMS=([vivid]="n_devs=1 node_types=0x1")

# Writes modules.order for the guest: each module after the modules its
# .modinfo `depends=` names (the host has no kmod/depmod; 6.1 .ko files are
# uncompressed, so the strings are readable as they are).
order_modules() { # dest-dir root-module...
    local dest=$1 f n
    shift
    declare -gA MODPATH=()
    declare -ga MODORDER=()
    declare -gA MODSEEN=()
    while IFS= read -r f; do
        n=$(basename "$f" .ko)
        MODPATH[${n//-/_}]=$f
    done < <(find "$KERNEL_ROOT/lib/modules" -name '*.ko')
    MODPATH[gpio_sim]=$GPIO_SIM_KO
    MODPATH[v4l2loopback]=$V4L2LOOPBACK_KO
    for n in "$@"; do visit_module "$n"; done
    : >"$dest/modules.order"
    for n in "${MODORDER[@]}"; do
        cp "${MODPATH[$n]}" "$dest/modules/"
        echo "$(basename "${MODPATH[$n]}") ${MODULE_PARAMS[$n]:-}" >>"$dest/modules.order"
    done
}

visit_module() {
    local n=${1//-/_} deps d
    [ -n "${MODSEEN[$n]:-}" ] && return 0
    MODSEEN[$n]=1
    [ -n "${MODPATH[$n]:-}" ] || die "module $n is not in linux-image-$KABI-$DEBARCH (media/configfs subset)"
    deps=$(strings -a "${MODPATH[$n]}" | sed -n 's/^depends=//p' | head -n 1)
    for d in ${deps//,/ }; do visit_module "$d"; done
    MODORDER+=("$n")
}

pack_initramfs() {
    local stage=$OUT/initramfs t
    rm -rf "$stage"
    t=$stage/lib/enrolld-test
    mkdir -p "$stage"/{bin,etc/enrolld,usr/bin} "$t/modules" "$t/scenarios"
    cp "$BUSYBOX" "$stage/bin/busybox"
    cp "$HERE/guest/init" "$stage/init"
    cp "$HERE/guest/lib.sh" "$t/"
    # RK_SCENARIOS=bench packs the benchmarks (guest/bench/) instead of the
    # test scenarios; init runs whichever *.sh it finds in the same place.
    cp "$HERE/guest/${RK_SCENARIOS:-scenarios}"/* "$t/scenarios/"
    if [ "${RK_SCENARIOS:-scenarios}" = bench ]; then
        pack_bench_tools "$stage"
        echo "RK_BENCH_PRESSES=${RK_BENCH_PRESSES:-20}" >"$t/bench.env"
    fi
    cp "$HERE/guest/enrolld.toml" "$stage/etc/enrolld/"
    cp "$HERE/guest/token" "$stage/etc/enrolld/"
    chmod 600 "$stage/etc/enrolld/token"
    cp "$ENROLLD_BIN" "$stage/usr/bin/enrolld"
    [ "${RK_SCENARIOS:-scenarios}" != bench ] || pack_bench_reference "$stage"
    cp "$STANDIN_BIN" "$stage/usr/bin/enrolld-standin"
    cp "$GPIO_EDGES_BIN" "$stage/usr/bin/rk-gpio-edges"
    pack_loopback "$stage"
    pack_runtime "$stage" "$ENROLLD_BIN" "$STANDIN_BIN" "$GPIO_EDGES_BIN" "$LOOPBACK_FEED_BIN"
    echo "$KABI-$DEBARCH" >"$t/kernel-release"
    MODULE_PARAMS[v4l2loopback]=$V4L2LOOPBACK_PARAMS
    order_modules "$t" configfs vivid gpio_sim v4l2loopback
    INITRD=$OUT/initrd.gz
    (cd "$stage" && find . | "$HOST_BUSYBOX" cpio -o -H newc 2>/dev/null | gzip -1 >"$INITRD") ||
        die "packing the initramfs failed"
    step "initramfs $(du -h "$INITRD" | cut -f1), modules: $(awk '{print $1}' "$t/modules.order" | tr '\n' ' ')"
}

# The C runtime of glibc programs, from this host's copy of the guest architecture's C library
# ($SYSROOT_LIB: the host's own for x86_64, libc6-arm64-cross's for aarch64): the program
# interpreter at the path the binaries name, and every library they need, transitively, in /lib
# (where the loader looks without an ld.so.cache).
pack_runtime() { # stage-dir binary...
    local stage=$1 interp lib todo=() done=" " name
    shift
    interp=$(readelf -l "$1" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
    [ -n "$interp" ] || die "$1 names no program interpreter"
    mkdir -p "$stage$(dirname "$interp")" "$stage/lib"
    cp -L "$SYSROOT_LIB/$(basename "$interp")" "$stage$interp" ||
        die "no $(basename "$interp") in $SYSROOT_LIB"
    for lib in "$@"; do todo+=("$lib"); done
    while [ ${#todo[@]} -gt 0 ]; do
        lib=${todo[0]}
        todo=("${todo[@]:1}")
        for name in $(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
            case $done in *" $name "*) continue ;; esac
            done+="$name "
            [ -e "$SYSROOT_LIB/$name" ] || die "$name, needed by $(basename "$lib"), is not in $SYSROOT_LIB"
            cp -L "$SYSROOT_LIB/$name" "$stage/lib/$name"
            todo+=("$SYSROOT_LIB/$name")
        done
    done
    step "runtime: $interp and${done% }"
}

boot_guest() {
    local vmlinuz log=$OUT/${RK_SERIAL_LOG:-serial.log} code=0
    vmlinuz=$(ls "$KERNEL_ROOT"/boot/vmlinuz-* | head -n 1)
    rm -f "$log"
    step "booting ${QEMU[0]} (TCG, limit ${RK_BOOT_TIMEOUT}s), serial log: $log"
    timeout --kill-after=5 "$RK_BOOT_TIMEOUT" "${QEMU[@]}" -nic none -display none -monitor none \
        -no-reboot -serial "file:$log" -kernel "$vmlinuz" -initrd "$INITRD" \
        -append "console=$CONSOLE quiet loglevel=3 panic=-1" </dev/null || code=$?
    case $code in
    0) ;;
    124 | 137) step "QEMU was stopped after ${RK_BOOT_TIMEOUT}s: the guest did not power off" ;;
    *) step "QEMU exited with status $code" ;;
    esac
    [ -s "$log" ] || die "the guest printed nothing (QEMU status $code)"
}
