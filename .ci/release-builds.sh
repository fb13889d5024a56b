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
# Each group is one cargo invocation, so build scripts and proc macros are built once and one
# target's long single-threaded LTO link overlaps with compiling the next target.
set -euo pipefail

RB_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
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

# Where a release binary of a target is: rb_bin <target> <name> (examples: examples/<name>).
rb_bin() { echo "$CARGO_TARGET_DIR/$1/release/$2"; }

rb_targets() { local t; for t in "$@"; do printf -- '--target\n%s\n' "$t"; done; }

rb_board() {
    local targets
    mapfile -t targets < <(rb_targets "${RB_BOARD_TARGETS[@]}")
    echo "::: release builds: enrolld ${RB_BOARD_FEATURES[*]} for ${RB_BOARD_TARGETS[*]}" >&2
    (cd "$RB_REPO" && cargo build --release --locked "${RB_BOARD_FEATURES[@]}" "${targets[@]}" --bin enrolld)
    echo "::: release builds: enrolld ${RB_STATIC_FEATURES[*]} for $RB_STATIC_TARGET (static)" >&2
    (cd "$RB_REPO" && cargo build --release --locked "${RB_STATIC_PROFILE[@]}" "${RB_STATIC_FEATURES[@]}" --target "$RB_STATIC_TARGET" --bin enrolld)
}

rb_guests() {
    local targets
    mapfile -t targets < <(rb_targets "${RB_GUEST_TARGETS[@]}")
    echo "::: release builds: guest tools for ${RB_GUEST_TARGETS[*]}" >&2
    (cd "$RB_REPO" && cargo build --release --locked "${RB_BOARD_FEATURES[@]}" "${targets[@]}" --bin enrolld)
    # Crates of their own (not examples, which would bring enrolld's dev-dependencies' features
    # into the board binary's build).
    (cd "$RB_REPO" && cargo build --release --locked -p enrolld-standin -p enrolld-guest-tools "${targets[@]}")
}

if [[ ${1:-} == --paths ]]; then
    return 0 2>/dev/null || exit 0
fi
case ${1:-all} in
all) rb_board && rb_guests ;;
board) rb_board ;;
guests) rb_guests ;;
*)
    echo "usage: bash .ci/release-builds.sh [all|board|guests]" >&2
    exit 2
    ;;
esac
