# Sourced by run.sh. Obtains the Debian packages the guest is made of, through
# apt, into $RK_CACHE/debs, and unpacks the few files needed from them.
#
# Nothing is installed on the host: packages are fetched with
# `apt-get download` and read with dpkg-deb. arm64 packages come through a
# private apt state (own lists and cache, empty dpkg status) so the host's
# apt configuration is untouched.

# apt-get/apt-cache for the Debian architecture $1, with a private state for
# foreign architectures.
apt_for() {
    local debarch=$1
    shift
    if [ "$debarch" = "$(dpkg --print-architecture)" ]; then
        "$@"
    else
        local state
        state=$RK_CACHE/apt-$debarch
        "$@" -oAPT::Architecture="$debarch" -oAPT::Architectures="$debarch" \
            -oDir::State::Lists="$state/lists" -oDir::Cache="$state/cache" \
            -oDir::State::status=/dev/null
    fi
}

# Fresh package lists for a foreign architecture, refreshed at most daily.
apt_update_foreign() {
    local debarch=$1 state
    state=$RK_CACHE/apt-$debarch
    [ "$debarch" = "$(dpkg --print-architecture)" ] && return 0
    if [ -z "$(find "$state/lists" -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
        mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
        step "apt update ($debarch lists, private state)"
        apt_for "$debarch" apt-get -qq update || die "apt-get update for $debarch failed"
    fi
}

candidate_version() { # debarch package
    apt_for "$1" apt-cache policy "$2" 2>/dev/null | awk '/Candidate:/ {print $2}'
}

# Every version the archive offers of the packages a kernel choice depends on
# (`apt-cache madison` lines): the images and arch headers of $debarch, and
# the host-side pieces (kbuild's tools run on the host; -common and the
# source are arch-independent).
kernel_madison() { # debarch flavour
    local debarch=$1 flavour=$2 images abis
    images=$(apt_for "$debarch" apt-cache pkgnames linux-image-6.1.0- 2>/dev/null |
        grep -E "^linux-image-6\.1\.0-[0-9]+-$flavour\$" | sort -V)
    [ -n "$images" ] || return 0
    abis=$(sed "s/^linux-image-//; s/-$flavour\$//" <<<"$images")
    # shellcheck disable=SC2046 # one word per package name
    apt_for "$debarch" apt-cache madison $images $(sed "s/^/linux-headers-/; s/\$/-$flavour/" <<<"$abis") 2>/dev/null
    # shellcheck disable=SC2046
    apt_for "$HOSTARCH" apt-cache madison linux-source-6.1 linux-kbuild-6.1 \
        $(sed 's/^/linux-headers-/; s/$/-common/' <<<"$abis") 2>/dev/null
}

# Picks the kernel (kernel-pick.sh) for debarch; sets KABI and KVER.
# RK_KERNEL_VERSION (e.g. 6.1.176-1) and RK_KERNEL_ABI (e.g. 6.1.0-50) pin
# it, to reproduce an older run.
resolve_kernel() { # debarch flavour -> sets KABI KVER
    local debarch=$1 flavour=$2 answer pick line
    answer=$(kernel_madison "$debarch" "$flavour" |
        kernel_pick "$flavour" "${RK_KERNEL_VERSION:-}" "${RK_KERNEL_ABI:-}")
    pick=$(head -n 1 <<<"$answer")
    while read -r line; do
        case $line in SKIP*) step "kernel: passed over ${line#SKIP }" ;; esac
    done <<<"$answer"
    case $pick in
    PICK*)
        read -r _ KABI KVER _ <<<"$pick"
        step "kernel: chose $KABI at $KVER ($debarch): $(cut -d' ' -f4- <<<"$pick")"
        ;;
    *) die "cannot choose a kernel for $debarch: ${pick#NONE }; check apt's sources (apt-get update), or pin RK_KERNEL_VERSION/RK_KERNEL_ABI to a version \`apt-cache madison linux-image-6.1.0-N-$flavour\` lists" ;;
    esac
}

# Downloads each package (pkg or pkg=version) unless a .deb of that name and
# version is cached. Fails naming the package apt could not provide.
fetch_debs() { # debarch pkg...
    local debarch=$1 spec name ver
    shift
    mkdir -p "$RK_CACHE/debs"
    for spec in "$@"; do
        name=${spec%%=*}
        ver=$([ "$name" != "$spec" ] && echo "${spec#*=}" || candidate_version "$debarch" "$name")
        [ -n "$ver" ] && [ "$ver" != "(none)" ] || die "apt has no package $name for $debarch"
        if ! (deb_path "$debarch" "$name" "$ver") >/dev/null 2>&1; then
            step "apt-get download $name=$ver ($debarch)"
            (cd "$RK_CACHE/debs" && apt_for "$debarch" apt-get -qq -oAPT::Sandbox::User=root download "$name=$ver") ||
                die "apt-get download $name=$ver ($debarch) failed"
        fi
    done
}

# The cached .deb of a package at a version, for debarch or arch "all"
# (apt-get download writes the epoch's colon as %3a).
deb_path() { # debarch name version
    local f base=$RK_CACHE/debs/${2}_${3/:/%3a}
    for f in "${base}_$1.deb" "${base}_all.deb"; do
        [ -f "$f" ] && echo "$f" && return 0
    done
    die "missing downloaded package $2 $3 ($1)"
}

# Extracts members matching shell patterns from a .deb's data (dpkg-deb, the
# tool behind dpkg -x; selective so the 400 MB image tree is never unpacked).
deb_extract() { # deb destdir pattern...
    local deb=$1 dest=$2
    shift 2
    [ -f "$deb" ] || die "no package file to extract $* from"
    mkdir -p "$dest"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dest" --wildcards "$@" ||
        die "cannot extract $* from $(basename "$deb")"
}

# Everything the guest and the module build need, for $DEBARCH. Sets KABI,
# KVER, KERNEL_ROOT, HEADERS_DIR, SRC_DIR, BUSYBOX, HOST_BUSYBOX.
fetch_all() {
    apt_update_foreign "$DEBARCH"
    resolve_kernel "$DEBARCH" "$DEBARCH"
    step "kernel $KABI ($KVER)"
    local image=linux-image-$KABI-$DEBARCH headers=linux-headers-$KABI-$DEBARCH
    local common=linux-headers-$KABI-common
    fetch_debs "$DEBARCH" "$image=$KVER" "$headers=$KVER" busybox-static
    # Host-side pieces: kbuild's tools run on the host; common and source are arch-independent.
    fetch_debs "$HOSTARCH" "$common=$KVER" "linux-kbuild-6.1=$KVER" "linux-source-6.1=$KVER" busybox-static

    KERNEL_ROOT=$RK_CACHE/kernel-$KABI-$DEBARCH
    if [ ! -e "$KERNEL_ROOT/.done" ]; then
        step "unpacking kernel and media/configfs modules"
        rm -rf "$KERNEL_ROOT"
        deb_extract "$(deb_path "$DEBARCH" "$image" "$KVER")" "$KERNEL_ROOT" './boot/vmlinuz-*' \
            './lib/modules/*/kernel/fs/configfs/*' './lib/modules/*/kernel/drivers/media/*'
        touch "$KERNEL_ROOT/.done"
    fi

    HEADERS_DIR=$RK_CACHE/headers-$KABI-$DEBARCH
    if [ ! -e "$HEADERS_DIR/.done" ]; then
        step "unpacking headers and kbuild"
        rm -rf "$HEADERS_DIR"
        dpkg -x "$(deb_path "$DEBARCH" "$headers" "$KVER")" "$HEADERS_DIR" || die "dpkg -x $headers failed"
        local p
        for p in "$common" linux-kbuild-6.1; do
            dpkg -x "$(deb_path "$HOSTARCH" "$p" "$KVER")" "$HEADERS_DIR" || die "dpkg -x $p failed"
        done
        touch "$HEADERS_DIR/.done"
    fi

    # One pass over the 1.3 GB source tree (decompressing it is what costs): gpio-sim's three
    # files at the top, vimc's directory (the systemd guest's libcamera camera) under vimc/.
    # A cache from before vimc was added lacks vimc/ and is extracted anew.
    SRC_DIR=$RK_CACHE/src-$KVER
    if [ ! -e "$SRC_DIR/.done" ] || [ ! -e "$SRC_DIR/vimc/Makefile" ]; then
        step "extracting gpio-sim.c, gpiolib.h, irq_sim.c and vimc/ from linux-source-6.1"
        rm -rf "$SRC_DIR"
        mkdir -p "$SRC_DIR"
        dpkg-deb --fsys-tarfile "$(deb_path "$HOSTARCH" linux-source-6.1 "$KVER")" |
            tar -xO ./usr/src/linux-source-6.1.tar.xz |
            tar -xJ -C "$SRC_DIR" --transform='s|^linux-source-6.1/drivers/media/test-drivers/||' \
                --transform='s|^linux-source-6.1/[^/]*/[^/]*/||' \
                linux-source-6.1/drivers/gpio/gpio-sim.c linux-source-6.1/drivers/gpio/gpiolib.h \
                linux-source-6.1/kernel/irq/irq_sim.c linux-source-6.1/drivers/media/test-drivers/vimc ||
            die "gpio-sim.c, gpiolib.h, irq_sim.c or drivers/media/test-drivers/vimc not found in linux-source-6.1 $KVER"
        touch "$SRC_DIR/.done"
    fi

    BUSYBOX=$(unpack_busybox "$DEBARCH")
    HOST_BUSYBOX=$(unpack_busybox "$HOSTARCH")
}

unpack_busybox() { # debarch -> path of the static busybox binary
    local dir ver
    dir=$RK_CACHE/busybox-$1
    if [ ! -x "$dir/bin/busybox" ]; then
        ver=$(candidate_version "$1" busybox-static)
        deb_extract "$(deb_path "$1" busybox-static "$ver")" "$dir" './bin/busybox'
    fi
    echo "$dir/bin/busybox"
}
