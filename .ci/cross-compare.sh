#!/usr/bin/env bash
# The two routes to a board binary give the same bytes: the cross build of the run
# (.ci/release-builds.sh: `cross` in the local image) is compared with a container-free build of
# the same commit (cargo on the host with Debian's cross compilers, .cargo/config.toml), byte for
# byte; where they differ, section by section, and the comparison fails.
#
#   bash .ci/cross-compare.sh [TARGET...]              # default: aarch64-unknown-linux-gnu
#   bash .ci/cross-compare.sh --known-bad [TARGET...]  # the checker's own proof (below)
#
# A second release build of each target (all its dependencies, fat LTO): CI runs it as a step of
# its own beside the QEMU stages (.ci/test), which leave a core idle; docs/shipping.md has its cost.
# The cross build must be there already (.ci/release-builds.sh; it is built when missing).
#
# The container-free build goes to target/cross-compare, made with the path prefixes the container
# has (container_paths, below: bind mounts in a mount namespace of its own, not a container).
# Same toolchain (cross/env.sh's pin), features, profile and SOURCE_DATE_EPOCH as the cross build.
#
# --known-bad builds the container-free side with the `screen` feature left out, and passes only
# when the comparison reports that binary as different: a checker that cannot see a build with
# other features proves nothing. (Before any build, a copy with one byte of .text changed must be
# reported too.)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=/dev/null
. .ci/release-builds.sh --paths

CMP_DIR="$CARGO_TARGET_DIR/cross-compare"

say() { printf 'cross-compare: %s\n' "$*"; }
die() {
    printf 'cross-compare FAILED: %s\n' "$*" >&2
    exit 1
}

# The cargo arguments a target's board build takes (.ci/release-builds.sh's groups).
build_args_of() {
    if [ "$1" = "$RB_STATIC_TARGET" ]; then
        echo "${RB_STATIC_PROFILE[*]@Q} ${RB_STATIC_FEATURES[*]@Q}"
    else
        echo "${RB_BOARD_FEATURES[*]@Q}"
    fi
}

# Runs a command in a mount namespace of its own where the host's CARGO_HOME, this checkout and
# target/cross-compare are at the paths cross gives them in the container (/cargo, /project,
# /target), with no container: the host's compilers, libraries and cargo. cargo names each
# crate's source files by those paths, and a panic's location keeps the name, so with other paths
# every such string and every offset after it differs. (--remap-path-prefix in RUSTFLAGS would
# rename them too, but RUSTFLAGS goes into every crate's -C metadata, which changed the symbol
# names and with them fat LTO's code: 4,160 bytes of .text differed, 2026-12-08.) The mount
# points are made once, empty, on the host.
container_paths() {
    local home
    home=$(realpath -m "${CARGO_HOME:-$HOME/.cargo}")
    mkdir -p /cargo /project /target
    # shellcheck disable=SC2016 # expanded by that sh, from its arguments
    unshare --mount -- sh -c 'mount --make-rprivate / && mount --bind "$1" /cargo && mount --bind "$2" /project &&
        mount --bind "$3" /target && shift 3 && cd /project && CARGO_HOME=/cargo CARGO_TARGET_DIR=/target exec "$@"' \
        sh "$home" "$PWD" "$CMP_DIR" "$@"
}

# Section name, size and sha256 of each section with contents in the file, one per line (by the
# offsets readelf gives, so any architecture's ELF file).
sections() {
    local bin=$1 name type off size
    readelf --section-headers --wide "$bin" |
        sed -n 's/^ *\[ *[0-9]*\] \([^ ][^ ]*\) *\([A-Z_]*\) *[0-9a-f]* \([0-9a-f]*\) \([0-9a-f]*\) .*/\1 \2 \3 \4/p' |
        while read -r name type off size; do
            case $type in NOBITS | NULL) continue ;; esac
            printf '%s %d %s\n' "$name" "$((16#$size))" \
                "$(tail -c +$((16#$off + 1)) "$bin" | head -c $((16#$size)) | sha256sum | cut -c1-16)"
        done
}

# Identical files, or the sections that differ and the strings found in one file only. Returns 1
# when they differ.
compare() {
    local a=$1 b=$2
    if cmp -s "$a" "$b"; then
        say "identical: $(stat -c %s "$a") bytes, sha256 $(sha256sum <"$a" | cut -c1-16)"
        return 0
    fi
    say "different: $(stat -c %s "$a") and $(stat -c %s "$b") bytes; sections (name, size, sha256), '<' cross only, '>' container-free only:"
    local differing
    differing=$(diff <(sections "$a") <(sections "$b") | grep '^[<>]' || true)
    printf '%s\n' "${differing:-  none: every section is the same (the ELF headers or the section table differ)}"
    say "strings (at least 12 characters) in one of them only, first 20:"
    diff <(strings -n 12 "$a" | sort -u) <(strings -n 12 "$b" | sort -u) | grep '^[<>]' | head -20 || true
    return 1
}

# The comparison must see a difference of one byte: a copy of the first binary with one byte of
# .text changed must be reported as differing, in .text.
self_test() {
    local bin=$1 flipped=$CMP_DIR/self-test-flipped offset byte out
    cp "$bin" "$flipped"
    offset=$(readelf --section-headers --wide "$bin" | sed -n 's/^ *\[ *[0-9]*\] \.text *PROGBITS *[0-9a-f]* \([0-9a-f]*\) .*/\1/p')
    [ -n "$offset" ] || die "self-test: no .text section in $bin"
    offset=$((16#$offset + 4096))
    byte=$(od -An -tu1 -j "$offset" -N1 "$bin" | tr -d ' ')
    printf '%b' "$(printf '\\0%03o' $(((byte + 1) % 256)))" | dd of="$flipped" bs=1 seek="$offset" conv=notrunc status=none
    if out=$(compare "$bin" "$flipped"); then
        die "self-test: a binary with one byte of .text changed was reported identical"
    fi
    grep -q '^< \.text ' <<<"$out" || die "self-test: the changed byte was not found in .text: $out"
    rm -f "$flipped"
    say "self-test: one changed byte of .text is reported (in .text)"
}

main() {
    local known_bad=0 targets target args bin ours status=0 home
    if [ "${1:-}" = --known-bad ]; then
        known_bad=1
        shift
    fi
    targets=("$@")
    ((${#targets[@]})) || targets=(aarch64-unknown-linux-gnu)
    mkdir -p "$CMP_DIR"
    for target in "${targets[@]}"; do
        rb_by_cross "$target" || die "$target is not built by cross (cross/local-image.toml)"
        [ -e "$(rb_bin "$target" enrolld)" ] || bash .ci/release-builds.sh board
    done
    home=$(realpath -m "${CARGO_HOME:-$HOME/.cargo}")
    for target in "${targets[@]}"; do
        eval "args=($(build_args_of "$target"))"
        ((known_bad == 0)) || args=(--no-default-features --features face)
        bin=$(rb_bin "$target" enrolld)
        rb_from_container "$bin" || die "$bin did not come out of cross's container"
        self_test "$bin"
        say "$target: the container-free build (cargo +$CROSS_TOOLCHAIN ${args[*]}, at the container's paths)"
        container_paths cargo "+$CROSS_TOOLCHAIN" build --release --locked "${args[@]}" --target "$target" --bin enrolld
        ours="$CMP_DIR/$target/release/enrolld"
        if compare "$bin" "$ours"; then
            ((known_bad == 0)) || die "known-bad: a build without the screen feature was reported identical"
            say "$target identical (image recipe $(bash cross/image.sh --key), toolchain $CROSS_TOOLCHAIN, cross $CROSS_VERSION, $(git log -1 --format=%h))"
        elif ((known_bad)); then
            say "known-bad: $target built without the screen feature is reported different, as it must be"
        else
            status=1
        fi
    done
    return "$status"
}

main "$@"
