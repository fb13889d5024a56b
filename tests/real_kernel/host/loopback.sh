# Sourced by run.sh, after fetch.sh and build.sh. A USB-camera-like device for the guest:
# v4l2loopback (a V4L2 driver whose capture side delivers what a producer writes to its output
# side), the feeder that plays the producer in the guest, and the frames it plays, made on the
# host from real photos. Functions, in run order:
#
#   fetch_v4l2loopback      Debian's v4l2loopback-dkms (bookworm's; RK_V4L2LOOPBACK_VERSION pins
#                           another) through apt-get download into $RK_CACHE/debs, never installed;
#                           its source unpacked into $RK_CACHE/v4l2loopback-src-<version>
#   build_v4l2loopback      v4l2loopback.ko out of tree against the picked kernel's headers (cross
#                           for arm64, as gpio-sim.ko), with the one change documented in
#                           tests/real_kernel/v4l2loopback/enrolld_enum_fmt_cap.c
#   build_loopback_tools    where rk-loopback-feed (the guest's producer, for the guest) and
#                           rk-loopback-frames (run here on the host) are: the release builds
#                           (tests/guest-tools) build_enrolld made
#   make_loopback_frames    the frames, from scikit-image's photos (.ci/face-assets.sh), into
#                           $RK_CACHE/loopback-frames (shared by both architectures)
#   pack_loopback DIR       the feeder and the frames into the initramfs tree DIR
#
# Sets V4L2LOOPBACK_KO (guest.sh's order_modules loads it), LOOPBACK_FEED_BIN, LOOPBACK_FRAMES.

# The module's parameters in the guest: /dev/video10 behaves like a camera (exclusive_caps=1:
# a capture-only node while a producer writes, nothing to capture before), /dev/video11 announces
# capture and output at all times (exclusive_caps=0) for the scenario that compares them. Eight
# buffers, of which a consumer (enrolld asks for 4) keeps what it asks for.
V4L2LOOPBACK_PARAMS="devices=2 video_nr=10,11 exclusive_caps=1,0 max_buffers=8 card_label=enroll-cam,enroll-cam-allcaps"

fetch_v4l2loopback() {
    local ver=${RK_V4L2LOOPBACK_VERSION:-} deb dir
    if [ -z "$ver" ]; then
        # The candidate is bookworm's (pin 500); bookworm-backports' newer one (pin 100) is only
        # taken when pinned. Its source is what build_v4l2loopback's edits were written for.
        ver=$(candidate_version "$HOSTARCH" v4l2loopback-dkms)
        [ -n "$ver" ] && [ "$ver" != "(none)" ] ||
            die "apt has no package v4l2loopback-dkms (bookworm main); run apt-get update, or pin RK_V4L2LOOPBACK_VERSION to a version \`apt-cache madison v4l2loopback-dkms\` lists"
    fi
    fetch_debs "$HOSTARCH" "v4l2loopback-dkms=$ver"
    V4L2LOOPBACK_SRC=$RK_CACHE/v4l2loopback-src-$ver
    if [ ! -e "$V4L2LOOPBACK_SRC/.done" ]; then
        step "unpacking v4l2loopback-dkms $ver"
        rm -rf "$V4L2LOOPBACK_SRC"
        deb=$(deb_path "$HOSTARCH" v4l2loopback-dkms "$ver")
        deb_extract "$deb" "$V4L2LOOPBACK_SRC.tmp" './usr/src/v4l2loopback-*'
        dir=$(find "$V4L2LOOPBACK_SRC.tmp/usr/src" -maxdepth 1 -name 'v4l2loopback-*' | head -n 1)
        for f in v4l2loopback.c v4l2loopback_formats.h; do
            [ -f "$dir/$f" ] || die "v4l2loopback-dkms $ver has no usr/src/v4l2loopback-*/$f"
        done
        mv "$dir" "$V4L2LOOPBACK_SRC"
        rm -rf "$V4L2LOOPBACK_SRC.tmp"
        touch "$V4L2LOOPBACK_SRC/.done"
    fi
    V4L2LOOPBACK_VERSION=$ver
}

build_v4l2loopback() {
    local build=$OUT/v4l2loopback mine=$RK_HERE/v4l2loopback f
    V4L2LOOPBACK_KO=$build/v4l2loopback.ko
    if [ -e "$V4L2LOOPBACK_KO" ] && [ "$V4L2LOOPBACK_KO" -nt "$V4L2LOOPBACK_SRC/.done" ]; then
        local stale=
        for f in "$RK_HERE/host/loopback.sh" "$mine"/*; do [ "$V4L2LOOPBACK_KO" -nt "$f" ] || stale=1; done
        [ -n "$stale" ] || return 0
    fi
    prepare_kbuild
    rm -rf "$build"
    mkdir -p "$build"
    cp "$V4L2LOOPBACK_SRC/v4l2loopback_formats.h" "$mine/Kbuild" "$mine/enrolld_enum_fmt_cap.c" "$build/"
    # The one change (why: enrolld_enum_fmt_cap.c): the driver's capture-side ENUM_FMT handler
    # keeps its code under another name, and the file defining the handler under the old name
    # (which the driver's ioctl table uses) is included right after it.
    sed -e 's/^static int vidioc_enum_fmt_cap(struct file \*file, void \*fh,$/static int v4l2l_enum_fmt_cap_unpatched(struct file *file, void *fh,/' \
        -e 's/^static int vidioc_g_fmt_cap(struct file \*file, void \*priv,$/#include "enrolld_enum_fmt_cap.c"\n\n&/' \
        "$V4L2LOOPBACK_SRC/v4l2loopback.c" >"$build/v4l2loopback.c"
    grep -q '^static int v4l2l_enum_fmt_cap_unpatched(' "$build/v4l2loopback.c" ||
        die "v4l2loopback $V4L2LOOPBACK_VERSION: no line 'static int vidioc_enum_fmt_cap(struct file *file, void *fh,' to rename (the enrolld change must be rewritten for this version)"
    grep -q '^#include "enrolld_enum_fmt_cap.c"' "$build/v4l2loopback.c" ||
        die "v4l2loopback $V4L2LOOPBACK_VERSION: no line 'static int vidioc_g_fmt_cap(struct file *file, void *priv,' to include the enrolld change before"
    logged v4l2loopback-build make -C "$KBUILD_DIR" M="$build" ARCH="$KARCH" CROSS_COMPILE="$CROSS" modules
    [ -e "$V4L2LOOPBACK_KO" ] || die "v4l2loopback.ko was not produced (log: $OUT/logs/v4l2loopback-build.log)"
}

# Both tools come from the run's release builds (.ci/release-builds.sh guests, which
# build_enrolld ran): the feeder for the guest's architecture (a glibc program, packed with its
# runtime by guest.sh), the frames tool for this amd64 host.
build_loopback_tools() {
    LOOPBACK_FEED_BIN=$(rb_bin "$RUST_TARGET" rk-loopback-feed)
    LOOPBACK_FRAMES_TOOL=$(rb_bin x86_64-unknown-linux-gnu rk-loopback-frames)
    local t
    for t in "$LOOPBACK_FEED_BIN" "$LOOPBACK_FRAMES_TOOL"; do
        [ -x "$t" ] || die "no binary at $t (bash .ci/release-builds.sh guests builds it)"
    done
}

# The photos come from .ci/face-assets.sh (scikit-image's wheel, checked by sha256); the frames
# are remade when the tool or the photos are newer than them.
make_loopback_frames() {
    local photos=${ENROLLD_ASSETS:-$REPO/target/assets}/skimage p
    LOOPBACK_FRAMES=$RK_CACHE/loopback-frames
    for p in astronaut coffee chelsea brick; do
        [ -s "$photos/$p.png" ] || missing "$photos/$p.png (run: bash .ci/face-assets.sh)"
    done
    if [ -e "$LOOPBACK_FRAMES/.done" ] && [ "$LOOPBACK_FRAMES/.done" -nt "$LOOPBACK_FRAMES_TOOL" ] &&
        [ -z "$(find "$photos" -newer "$LOOPBACK_FRAMES/.done" -name '*.png' | head -n 1)" ]; then
        return 0
    fi
    rm -rf "$LOOPBACK_FRAMES"
    logged loopback-frames "$LOOPBACK_FRAMES_TOOL" "$photos" "$LOOPBACK_FRAMES"
    touch "$LOOPBACK_FRAMES/.done"
    step "loopback frames: $(cd "$LOOPBACK_FRAMES" && ls | tr '\n' ' ')"
}

pack_loopback() { # initramfs-tree
    cp "$LOOPBACK_FEED_BIN" "$1/usr/bin/rk-loopback-feed"
    mkdir -p "$1/lib/enrolld-test/frames"
    cp "$LOOPBACK_FRAMES"/* "$1/lib/enrolld-test/frames/"
}

# All of the above, as run.sh's steps.
loopback_all() {
    timed v4l2loopback-fetch fetch_v4l2loopback
    timed v4l2loopback-build build_v4l2loopback
    timed loopback-tools build_loopback_tools
    timed loopback-frames make_loopback_frames
}
