#!/usr/bin/env bash
# The latency table from a real-kernel bench guest's serial log:
#   bash benches/latency-table.sh target/real-kernel/x86_64/serial-bench.log
# Reads "ENROLLD-BENCH <name> <ms>..." lines (guest/bench/latency.inc) and
# prints median/min/max per name and the ratios the issue asks for, then the
# "ENROLLD-STAGES <name> <stage> <ms>..." breakdown of enrolld's runs. Every
# FAIL result of the guest is shown; the exit status is 1 if there was one
# or if a row is missing. A row "<name>-reference" (RK_BENCH_REFERENCE: another
# build pressed alternately with this one in the same run) is compared with
# <name>: press -> first request, press -> registration request and the
# daemon's bind -> outcome (stages_ms.total), this build / the reference.
set -euo pipefail
LOG=${1:?usage: latency-table.sh <serial-bench.log>}
[ -s "$LOG" ] || { echo "no serial log at $LOG" >&2; exit 1; }
tr -d '\r' <"$LOG" | awk '
function median(name,   n, i, j, t, v) {
    n = split(vals[name], v, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j-1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
    count[name] = n; lo[name] = v[1]; hi[name] = v[n]
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
$1 == "ENROLLD-BENCH" { name = $2; $1 = ""; $2 = ""; vals[name] = $0; order[++k] = name }
$1 == "ENROLLD-STAGES" { key = $2 " " $3; $1 = ""; $2 = ""; $3 = ""; vals[key] = $0; stages[++ns] = key }
$1 == "ENROLLD-RESULT" && $3 == "FAIL" { fails = fails "  " $0 "\n" }
END {
    printf "%-32s %7s %12s %10s %10s\n", "pull -> request", "presses", "median ms", "min ms", "max ms"
    for (i = 1; i <= k; i++) {
        m[order[i]] = median(order[i])
        printf "%-32s %7d %12.1f %10.1f %10.1f\n", order[i], count[order[i]], m[order[i]], lo[order[i]], hi[order[i]]
    }
    print ""
    ratio("enrolld-streaming", "script", "goal <= 0.10")
    ratio("enrolld-on-demand", "script-skip-1", "goal <= 0.50 (1 warm-up frame vs -S 1)")
    ratio("enrolld-on-demand", "script", "")
    ratio("enrolld-mjpeg", "enrolld-on-demand", "MJPEG passthrough vs YUYV encode, on demand")
    ratio("enrolld-mjpeg-face", "enrolld-mjpeg", "the face check on a press, on demand")
    ratio("enrolld-streaming-face", "enrolld-streaming", "face check on (MJPEG) vs off (YUYV), streaming")
    for (i = 1; i <= k; i++) {
        a = order[i]; b = a "-reference"
        if (!(b in m)) continue
        if (!refs++) printf "\n%-50s %10s %10s %7s\n", "this build / the reference (medians)", "this ms", "ref ms", "ratio"
        vs(a " pull->first-request", b " pull->first-request", a ": press -> first request")
        vs(a, b, a ": press -> registration")
        vs(a " total", b " total", a ": bind -> outcome (total)")
    }
    if (ns) {
        print ""
        printf "%-56s %12s %10s %10s\n", "where enrolld spends it (ms per press)", "median", "min", "max"
        for (i = 1; i <= ns; i++)
            printf "%-56s %12.1f %10.1f %10.1f\n", stages[i], median(stages[i]), lo[stages[i]], hi[stages[i]]
    }
    split("enrolld-on-demand enrolld-streaming enrolld-mjpeg enrolld-mjpeg-face enrolld-streaming-face script script-skip-1", required, " ")
    for (i in required) if (!(required[i] in m)) fails = fails "  no " required[i] " row\n"
    if (fails != "") { printf "guest failures:\n%s", fails; exit 1 }
}
function vs(a, b, label,   x, y) {
    if (!(a in vals) || !(b in vals)) { printf "%s: not measured\n", label; return }
    x = median(a); y = median(b)
    printf "%-50s %10.1f %10.1f %7.3f\n", label, x, y, y ? x / y : 0
}
function ratio(a, b, goal) {
    if (!(a in m) || !(b in m) || m[b] == 0) { printf "%s / %s: not measured\n", a, b; return }
    printf "%-40s %6.3f  %s\n", a " / " b " (medians)", m[a] / m[b], goal
}'
