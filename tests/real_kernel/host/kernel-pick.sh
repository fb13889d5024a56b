# Sourced by fetch.sh (and by tests/kernel_pick.rs over recorded answers).
# Chooses the Debian 6.1 kernel the guests boot, from what the archive offers.
#
# The guest needs four things at one exact Debian version: the kernel image,
# its headers (arch and -common), linux-source-6.1 (gpio-sim.c and irq_sim.c
# are built out of tree) and linux-kbuild-6.1 (the module build's host tools).
# Debian uploads them separately: a security upload can bring a new source and
# kbuild before the image is rebuilt, or a new image ABI before anything else
# moves, and older versions stay downloadable beside the new ones. So the
# choice looks at every version the archive offers (`apt-cache madison`), not
# only the candidate, and takes the newest image version that is complete.
#
#   kernel_pick <flavour> [<pin version>] [<pin abi>] < madison-lines
#
# reads `apt-cache madison` lines ("pkg | version | source") and prints
#   PICK <abi> <version> <why>       the choice (exactly one line), or
#   NONE <why>                       nothing complete (with the pins given)
# then one line per image version it passed over, newest first:
#   SKIP <abi> <version> missing <package>=<version>...
# A pin narrows the choice to that version and/or ABI (6.1.0-N); what the
# pin asks for and is incomplete is still listed as SKIP, so the error says why.

kernel_pick() {
    local flavour=$1 pin_version=${2:-} pin_abi=${3:-}
    local lines complete best= best_abi= abi ver missing skipped=() why
    lines=$(awk -F'|' -v flavour="$flavour" '
        function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
        NF >= 2 {
            pkg = trim($1); ver = trim($2)
            have[pkg "=" ver] = 1
            if (pkg ~ "^linux-image-6\\.1\\.0-[0-9]+-" flavour "$") {
                abi = pkg; sub(/^linux-image-/, "", abi); sub("-" flavour "$", "", abi)
                if (!((abi, ver) in image)) { image[abi, ver] = 1; order[++n] = abi " " ver }
            }
        }
        END {
            for (i = 1; i <= n; i++) {
                split(order[i], f, " "); abi = f[1]; ver = f[2]
                miss = ""
                need[1] = "linux-headers-" abi "-" flavour
                need[2] = "linux-headers-" abi "-common"
                need[3] = "linux-source-6.1"
                need[4] = "linux-kbuild-6.1"
                for (k = 1; k <= 4; k++) if (!((need[k] "=" ver) in have)) miss = miss " " need[k] "=" ver
                print abi, ver, (miss == "" ? "-" : substr(miss, 2))
            }
        }')
    # Newest first, by Debian's own version order.
    lines=$(sort_by_debian_version <<<"$lines")
    while read -r abi ver missing; do
        [ -n "$abi" ] || continue
        [ -z "$pin_version" ] || [ "$ver" = "$pin_version" ] || continue
        [ -z "$pin_abi" ] || [ "$abi" = "$pin_abi" ] || continue
        if [ "$missing" = - ] && [ -z "$best" ]; then
            best=$ver best_abi=$abi
        elif [ "$missing" != - ]; then
            skipped+=("SKIP $abi $ver missing ${missing}")
        fi
    done <<<"$lines"
    if [ -n "$best" ]; then
        why="newest linux-image-6.1.0-*-$flavour version that linux-headers, linux-source-6.1 and linux-kbuild-6.1 also have"
        [ -z "$pin_version$pin_abi" ] || why="pinned by RK_KERNEL_VERSION='$pin_version' RK_KERNEL_ABI='$pin_abi'"
        echo "PICK $best_abi $best $why"
    else
        why="no linux-image-6.1.0-*-$flavour version has all of image, headers, linux-source-6.1 and linux-kbuild-6.1"
        [ -z "$pin_version$pin_abi" ] || why="$why for RK_KERNEL_VERSION='$pin_version' RK_KERNEL_ABI='$pin_abi'"
        echo "NONE $why"
    fi
    # Only the versions newer than the pick explain it; older ones do not matter.
    local s
    for s in "${skipped[@]}"; do
        ver=$(cut -d' ' -f3 <<<"$s")
        [ -z "$best" ] || dpkg --compare-versions "$ver" gt "$best" || continue
        echo "$s"
    done
}

# Sorts "abi version rest" lines by version, newest first (dpkg's order:
# 6.1.192-3 > 6.1.192-2 > 6.1.176-1, epochs and ~ included).
sort_by_debian_version() {
    local line sorted=() i j tmp
    while IFS= read -r line; do
        [ -n "$line" ] && sorted+=("$line")
    done
    # Insertion sort: a few dozen lines at most.
    for ((i = 1; i < ${#sorted[@]}; i++)); do
        tmp=${sorted[i]}
        j=$((i - 1))
        while ((j >= 0)) && dpkg --compare-versions "$(cut -d' ' -f2 <<<"$tmp")" gt "$(cut -d' ' -f2 <<<"${sorted[j]}")"; do
            sorted[j + 1]=${sorted[j]}
            j=$((j - 1))
        done
        sorted[j + 1]=$tmp
    done
    ((${#sorted[@]} == 0)) || printf '%s\n' "${sorted[@]}"
}
