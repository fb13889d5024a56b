#!/usr/bin/env bash
# Makes an aarch64 musl C compiler out of aarch64-linux-gnu-gcc and Debian's
# musl-dev:arm64, without installing anything:
#   host/musl-cross.sh DIR  ->  DIR/bin/aarch64-linux-musl-gcc
# The package is fetched with apt (private arm64 state, cached under
# target/real-kernel) and unpacked into DIR; its gcc specs file, which points
# gcc at musl's headers, crt files and libc instead of glibc's, is rewritten
# for DIR. Linux UAPI headers (linux/, asm/, asm-generic/) are linked in from
# linux-libc-dev-arm64-cross, which gcc-aarch64-linux-gnu pulls in.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
DEST=${1:?usage: musl-cross.sh DIR}
RK_CACHE=${RK_CACHE:-$REPO/target/real-kernel}
HOSTARCH=$(dpkg --print-architecture)
step() { echo "musl-cross: $*" >&2; }
die() { echo "musl-cross: ERROR: $*" >&2; exit 1; }
. "$HERE/fetch.sh"

command -v aarch64-linux-gnu-gcc >/dev/null || die "aarch64-linux-gnu-gcc missing (package gcc-aarch64-linux-gnu)"
[ -d /usr/aarch64-linux-gnu/include/linux ] || die "/usr/aarch64-linux-gnu/include/linux missing (package linux-libc-dev-arm64-cross)"
apt_update_foreign arm64
ver=$(candidate_version arm64 musl-dev)
fetch_debs arm64 "musl-dev=$ver"
rm -rf "$DEST"
dpkg -x "$(deb_path arm64 musl-dev "$ver")" "$DEST"
lib=$DEST/usr/lib/aarch64-linux-musl inc=$DEST/usr/include/aarch64-linux-musl
[ -f "$lib/musl-gcc.specs" ] || die "musl-dev:arm64 $ver has no musl-gcc.specs"
sed -i "s|/usr/lib/aarch64-linux-musl|$lib|g; s|/usr/include/aarch64-linux-musl|$inc|g" "$lib/musl-gcc.specs"
for d in linux asm asm-generic; do ln -sfn "/usr/aarch64-linux-gnu/include/$d" "$inc/$d"; done
mkdir -p "$DEST/bin"
cat >"$DEST/bin/aarch64-linux-musl-gcc" <<WRAP
#!/bin/sh
exec aarch64-linux-gnu-gcc "\$@" -specs "$lib/musl-gcc.specs"
WRAP
chmod +x "$DEST/bin/aarch64-linux-musl-gcc"
# Prove it: a static hello world must link against musl.
printf '#include <stdio.h>\nint main(void){puts("ok");return 0;}\n' >"$DEST/probe.c"
"$DEST/bin/aarch64-linux-musl-gcc" -static -o "$DEST/probe" "$DEST/probe.c" || die "the musl cross compiler cannot link a static program"
step "aarch64 musl C compiler ready: $DEST/bin/aarch64-linux-musl-gcc"
