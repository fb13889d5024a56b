# Compiler and linker settings for static (musl) builds of enrolld, one block
# per Rust target. Source it, then build:
#
#   . tests/real_kernel/target-env.sh aarch64-unknown-linux-musl
#   cargo build --target aarch64-unknown-linux-musl
#
# The Rust side needs only `rustup target add <target>`; these settings are for
# the C inside the dependency tree: turbojpeg-sys builds libjpeg-turbo with
# cmake through the `cc` crate's CC_<target> (and nasm / NEON SIMD), and
# v4l2-sys-mit runs bindgen, which needs the target's <linux/videodev2.h>.
#
# x86_64-unknown-linux-musl: musl-gcc (package musl-tools) compiles the C;
#   rustc links with cc and its bundled musl (self-contained crt and libc).
# aarch64-unknown-linux-musl: Debian has no aarch64 musl cross compiler, so
#   aarch64-linux-gnu-gcc is turned into one with musl-dev:arm64's own gcc
#   specs file (musl headers and crt instead of glibc's), unpacked from the
#   .deb into target/real-kernel/musl-arm64 (nothing installed on the host;
#   the .deb comes through apt with a private arm64 state, see host/fetch.sh).
#   Linux UAPI headers come from linux-libc-dev-arm64-cross
#   (/usr/aarch64-linux-gnu/include). rustc links with plain
#   aarch64-linux-gnu-gcc and its own bundled musl (the specs wrapper as
#   linker was not tried: its x86_64 twin, musl-gcc, gives a broken binary).

rk_target_env() {
    local target=$1 here repo
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    repo=$(cd "$here/../.." && pwd)
    case $target in
    x86_64-unknown-linux-musl)
        export CC_x86_64_unknown_linux_musl=musl-gcc
        export AR_x86_64_unknown_linux_musl=ar
        # Linking through musl-gcc instead (its specs add a dynamic linker)
        # gives a binary with a program interpreter that segfaults at start:
        # rustc must link self-contained with plain cc. Set explicitly so a
        # `linker` in .cargo/config.toml cannot change it.
        export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_LINKER=cc
        ;;
    aarch64-unknown-linux-musl)
        local root=${RK_CACHE:-$repo/target/real-kernel}/musl-arm64
        if [ ! -x "$root/bin/aarch64-linux-musl-gcc" ]; then
            "$here/host/musl-cross.sh" "$root" || return 1
        fi
        export CC_aarch64_unknown_linux_musl=$root/bin/aarch64-linux-musl-gcc
        export AR_aarch64_unknown_linux_musl=aarch64-linux-gnu-ar
        export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=aarch64-linux-gnu-gcc
        export BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_musl="-isystem /usr/aarch64-linux-gnu/include"
        ;;
    *)
        echo "target-env.sh: no settings for '$target'" >&2
        return 1
        ;;
    esac
}
rk_target_env "${1:?usage: . target-env.sh <rust-target>}"
