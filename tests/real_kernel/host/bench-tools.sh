# Sourced by run.sh. For the latency benchmarks (RK_SCENARIOS=bench): the
# shell-script terminal's tools (Debian gpiod, fswebcam, curl) with their
# shared libraries and dynamic loader, copied from this host into the guest.
# The guest is busybox-only and these are dynamically linked glibc programs;
# on an amd64 host they run unchanged in the x86_64 guest (same paths, same
# loader). The aarch64 guest would need the arm64 .debs and their whole
# dependency closure unpacked instead; not done, so its script benchmarks
# fail naming the missing tool.
BENCH_TOOLS=(gpiomon fswebcam curl)

# RK_BENCH_REFERENCE=<path>: another build of enrolld for the guest's architecture (the board
# build of an earlier commit, say), packed as /usr/bin/enrolld-reference with its C runtime: the
# face rows then press it and this build alternately in the same guest run
# (guest/bench/latency.inc, run_latency_vs_reference), so a change is measured against the code
# before it under the same guest and the same load.
pack_bench_reference() { # stage-dir
    [ -n "${RK_BENCH_REFERENCE:-}" ] || return 0
    [ -x "$RK_BENCH_REFERENCE" ] || die "RK_BENCH_REFERENCE=$RK_BENCH_REFERENCE is not an executable file"
    cp "$RK_BENCH_REFERENCE" "$1/usr/bin/enrolld-reference"
    pack_runtime "$1" "$RK_BENCH_REFERENCE"
    step "bench reference: $RK_BENCH_REFERENCE ($("$RK_BENCH_REFERENCE" --version 2>/dev/null || echo 'no --version'))"
}

pack_bench_tools() { # stage-dir
    local stage=$1 tool path lib
    [ "$ARCH" = x86_64 ] || { step "bench tools: only packed for the x86_64 guest"; return 0; }
    for tool in "${BENCH_TOOLS[@]}"; do
        path=$(command -v "$tool") || missing "$tool (packages gpiod fswebcam curl)"
        cp "$path" "$stage/usr/bin/"
        # ldd lists "name => /path (addr)" and the loader as "/path (addr)".
        for lib in $(ldd "$path" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
            mkdir -p "$stage$(dirname "$lib")"
            cp -L "$lib" "$stage$lib"
        done
    done
    step "bench tools: ${BENCH_TOOLS[*]} with $(find "$stage/lib" "$stage/lib64" "$stage/usr/lib" -name '*.so*' 2>/dev/null | wc -l) libraries"
}
