#!/usr/bin/env bash
# Builds enrolld at another commit for the latency benchmark's reference rows and prints the
# binary's path (the only line on stdout):
#   RK_BENCH_REFERENCE=$(bash benches/latency-reference.sh <commit> [x86_64|aarch64]) \
#       bash benches/latency.sh [x86_64|aarch64]
#
# The commit is checked out with `git worktree add` under target/bench-reference/ (this
# checkout's files are not touched) and built as that commit's own .ci/release-builds.sh builds
# the board binary (its features, the release profile, glibc, for the guest's architecture),
# into a target directory of its own there, so this build's binaries stay as they are. The
# face model comes from this checkout's target/assets (ENROLLD_ASSETS), fetched by
# .ci/prereqs. A cold build takes about as long as this checkout's release build; a second
# call for the same commit only checks it is up to date. Remove target/bench-reference/ (and
# `git worktree prune`) when done.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COMMIT=${1:?usage: latency-reference.sh <commit> [x86_64|aarch64]}
ARCH=${2:-x86_64}
case $ARCH in
x86_64 | aarch64) TARGET=$ARCH-unknown-linux-gnu ;;
*) echo "latency-reference.sh: the guest architecture is x86_64 or aarch64, not '$ARCH'" >&2; exit 2 ;;
esac
SHA=$(git -C "$REPO" rev-parse --verify "$COMMIT^{commit}")
BASE=$REPO/target/bench-reference
SRC=$BASE/src-${SHA:0:12}
if [ ! -e "$SRC/.git" ]; then
    mkdir -p "$BASE"
    git -C "$REPO" worktree add --detach "$SRC" "$SHA" >&2
fi
[ "$(git -C "$SRC" rev-parse HEAD)" = "$SHA" ] || {
    echo "latency-reference.sh: $SRC is not at $SHA; remove it (git worktree remove) and run again" >&2
    exit 1
}
(
    cd "$SRC"
    SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
    export CARGO_TARGET_DIR=$BASE/target ENROLLD_ASSETS=$REPO/target/assets SOURCE_DATE_EPOCH
    # That commit's board features (RB_BOARD_FEATURES), without building anything.
    . .ci/release-builds.sh --paths
    echo "::: reference build: enrolld at ${SHA:0:12} ${RB_BOARD_FEATURES[*]} for $TARGET" >&2
    cargo build --release --locked "${RB_BOARD_FEATURES[@]}" --target "$TARGET" --bin enrolld >&2
)
echo "$BASE/target/$TARGET/release/enrolld"
