#!/usr/bin/env bash
# Every release build a CI run needs, each made once and used by every later stage: the ship
# checks and the packages, the real-kernel guests, the systemd guest, the power-cut guest and the
# latency benchmark all run these binaries, so a heavy dependency (libjpeg-turbo, ring, rten) is
# compiled once per target, not once per stage, and the QEMU guests run exactly what ships.
#
#   bash .ci/release-builds.sh          # everything below
#   bash .ci/release-builds.sh board    # the board binaries only
#   bash .ci/release-builds.sh guests   # the QEMU guests' tools only (and the boards they run)
#   . .ci/release-builds.sh --paths     # (sourced) only the path helpers, building nothing
#
# What is built (release profile: fat LTO, one codegen unit, docs/shipping.md):
#   board   enrolld with the board packages' features (no demo, face check on) for
#           x86_64-unknown-linux-gnu (the amd64 package the systemd guest installs),
#           aarch64-unknown-linux-gnu and armv7-unknown-linux-gnueabihf (the Pi packages);
#           aarch64-unknown-linux-musl, the static build, without the face check and the screen,
#           enrolld's own code at opt-level "s" (its size is the ship check's "without it" budget);
#   guests  the QEMU guests' test tools beside them, for x86_64 and aarch64 glibc:
#           enrolld-standin (tests/standin), the guest tools (tests/guest-tools).
#
# Who builds: `cross` (cross/env.sh, the local image of cross/image.sh, podman) every target
# that is not the host's (the targets cross/local-image.toml names), as the design card says;
# cargo on the host x86_64-unknown-linux-gnu, which needs no cross compiler. Each side has a
# target directory of its own (rb_dir): cargo fingerprints every crate by its source path, which
# is /cargo/registry/... in the container and $CARGO_HOME/registry/... outside, so in a shared
# one each side would rebuild the build scripts and proc macros the other built, and everything
# after them. A cross build whose binary did not come out of the container fails
# (rb_from_container): with Debian's cross compilers on the host, a `cross` that fell back to the
# host's cargo would pass otherwise.
# Each group is one cargo invocation per side (cross builds all its targets in one container), so
# build scripts and proc macros are built once per side and one target's long single-threaded LTO
# link overlaps with compiling the next target.
set -euo pipefail

RB_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=/dev/null
. "$RB_REPO/cross/env.sh"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$RB_REPO/target}
# The reproducible build date (also the daemon's clock gate): every stage sets the same one, so
# cargo never rebuilds for a changed environment.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$RB_REPO" log -1 --format=%ct 2>/dev/null || date +%s)}

RB_BOARD_FEATURES=(--no-default-features --features face,screen)
RB_BOARD_TARGETS=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf)
RB_STATIC_FEATURES=(--no-default-features)
RB_STATIC_TARGET=aarch64-unknown-linux-musl
# The static build's own code at "s" rather than the release profile's 3 (its dependencies are at
# "z" either way): 4,133,528 B against 4,657,816 B (2026-12-07), within its 4.5 MB budget. It has
# no face check and no screen, so enrolld's own hot loops there are the YUV conversion before
# libjpeg-turbo's encode; the board packages keep 3 (docs/shipping.md).
RB_STATIC_PROFILE=(--config 'profile.release.opt-level="s"')
# RB_GUEST_TARGET_ONLY=<target>: the guests' tools (and the board binary they run) for that one
# target, for a run of one guest architecture alone (benches/latency.sh): CI builds both.
RB_GUEST_TARGETS=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu)
[[ -z ${RB_GUEST_TARGET_ONLY:-} ]] || RB_GUEST_TARGETS=("$RB_GUEST_TARGET_ONLY")

# The target directory a target's builds are in: rb_dir <target>. cargo-deb and anything reading
# cargo's output directories need it as CARGO_TARGET_DIR.
rb_dir() { if rb_by_cross "$1"; then echo "$CARGO_TARGET_DIR/cross"; else echo "$CARGO_TARGET_DIR"; fi; }

# Where a release binary of a target is: rb_bin <target> <name>.
rb_bin() { echo "$(rb_dir "$1")/$1/release/$2"; }

rb_targets() { local t; for t in "$@"; do printf -- '--target\n%s\n' "$t"; done; }

rb_by_cross() { [[ " ${CROSS_TARGETS[*]} " == *" $1 "* ]]; }

# Did this binary come out of cross's container? Cargo names each crate's source files by its
# CARGO_HOME, and the file names of the panics' locations stay in a stripped binary: the
# container's cargo home is /cargo, the host's is not.
rb_from_container() {
    local bin=$1 host_home
    host_home=$(realpath -m "${CARGO_HOME:-$HOME/.cargo}")
    [ "$host_home" != /cargo ] || {
        echo "rb_from_container: the host's CARGO_HOME is /cargo, as in the container: cannot tell them apart" >&2
        return 1
    }
    grep -aqF "/cargo/registry/src/index.crates.io-" "$bin" && ! grep -aqF "$host_home/registry/src/" "$bin"
}

# What cross needs before it runs: its tools, the image (made when missing or stale, which
# cross/image.sh checks in a moment) and every crate (the container has no network).
rb_cross_ready() {
    local tool
    for tool in cross podman mmdebstrap; do
        command -v "$tool" >/dev/null || {
            echo "::: release builds: $tool is missing: bash .ci/cross-prereqs.sh installs it (cross/README.md)" >&2
            return 1
        }
    done
    bash "$RB_REPO/cross/image.sh" && (cd "$RB_REPO" && cargo fetch --locked --quiet)
}

# rb_build SIDE CHECKED TARGET... -- CARGO-BUILD-ARGUMENTS: builds those of the targets that are
# SIDE's (host: cargo here; cross: cross in the image, all of them in one container, as they
# share the image and cross, which picks the image by the last --target, passes every --target
# on to cargo). CHECKED names the binary that must have come out of the container.
rb_build() {
    local side=$1 checked=$2 mine=() targets t bin
    shift 2
    while [[ $1 != -- ]]; do
        if rb_by_cross "$1"; then [ "$side" = host ] || mine+=("$1"); else [ "$side" = cross ] || mine+=("$1"); fi
        shift
    done
    shift
    ((${#mine[@]})) || return 0
    mapfile -t targets < <(rb_targets "${mine[@]}")
    if [ "$side" = host ]; then
        echo "::: release builds: cargo build for ${mine[*]}: $*" >&2
        (cd "$RB_REPO" && cargo build --release --locked "${targets[@]}" "$@")
        return
    fi
    echo "::: release builds: cross +$CROSS_TOOLCHAIN build (cross $CROSS_VERSION, podman, $CROSS_IMAGE) for ${mine[*]}: $*" >&2
    if ! CARGO_TARGET_DIR=$(rb_dir "${mine[0]}") cross_run build --release --locked "${targets[@]}" "$@"; then
        # When podman is what failed, this names the setting that fixes it.
        cross_podman_check || true
        return 1
    fi
    for t in "${mine[@]}"; do
        bin=$(rb_bin "$t" "$checked")
        rb_from_container "$bin" || {
            echo "::: release builds: $bin did not come out of cross's container (no /cargo/registry paths in it): cross fell back to the host's cargo?" >&2
            return 1
        }
        echo "::: release builds: $t: $checked came out of the container, sha256 $(sha256sum "$bin" | cut -c1-16)" >&2
    done
}

# One side's builds of a group: rb_group SIDE board|guests.
rb_group() {
    local side=$1
    case $2 in
    board)
        rb_build "$side" enrolld "${RB_BOARD_TARGETS[@]}" -- "${RB_BOARD_FEATURES[@]}" --bin enrolld || return
        rb_build "$side" enrolld "$RB_STATIC_TARGET" -- "${RB_STATIC_PROFILE[@]}" "${RB_STATIC_FEATURES[@]}" --bin enrolld
        ;;
    guests)
        rb_build "$side" enrolld "${RB_GUEST_TARGETS[@]}" -- "${RB_BOARD_FEATURES[@]}" --bin enrolld || return
        # Crates of their own (not examples, which would bring enrolld's dev-dependencies'
        # features into the board binary's build). What runs in the guests, for each guest; the
        # frames tool runs on the host only (tests/real_kernel/host/loopback.sh).
        rb_build "$side" enrolld-standin "${RB_GUEST_TARGETS[@]}" -- -p enrolld-standin -p enrolld-guest-tools \
            --bin enrolld-standin --bin rk-gpio-edges --bin rk-loopback-feed || return
        rb_build "$side" - x86_64-unknown-linux-gnu -- -p enrolld-guest-tools --bin rk-loopback-frames
        ;;
    esac
}

# The groups asked for, both sides at once: cross's builds run in the background while cargo
# builds the host's (each side has its own target directory, so neither waits for the other's
# lock), and cross's output is printed when both are done. Each side's last single-threaded
# steps (the enrolld crate, the fat-LTO link) leave a core idle that the other side uses.
rb_run() {
    local log cross_pid host_rc=0 cross_rc=0 group
    rb_cross_ready || return
    log=$(mktemp "${TMPDIR:-/tmp}/enrolld-cross-XXXXXX.log")
    (for group in "$@"; do rb_group cross "$group" || exit; done) >"$log" 2>&1 &
    cross_pid=$!
    echo "::: release builds: cross's builds started beside the host's (their output follows them)" >&2
    for group in "$@"; do
        rb_group host "$group" || {
            host_rc=$?
            break
        }
    done
    wait "$cross_pid" || cross_rc=$?
    echo "::: release builds: cross's builds (ran beside the host's):" >&2
    cat "$log" >&2
    rm -f "$log"
    ((host_rc == 0)) || {
        echo "::: release builds: the host's cargo build FAILED (status $host_rc, output above)" >&2
        return "$host_rc"
    }
    ((cross_rc == 0)) || echo "::: release builds: cross's builds FAILED (status $cross_rc, output above)" >&2
    return "$cross_rc"
}

if [[ ${1:-} == --paths ]]; then
    return 0 2>/dev/null || exit 0
fi
case ${1:-all} in
all) rb_run board guests ;;
board) rb_run board ;;
guests) rb_run guests ;;
*)
    echo "usage: bash .ci/release-builds.sh [all|board|guests]" >&2
    exit 2
    ;;
esac
