#!/usr/bin/env bash
# What the latency benchmark (benches/latency.sh) needs besides the real-kernel stage's
# prerequisites: the shell-script terminal it is compared with (Debian's gpiod, fswebcam and
# curl, copied from this host into the x86_64 guest). Idempotent.
set -euo pipefail
missing=()
for p in gpiod fswebcam curl; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    apt-get -o DPkg::Lock::Timeout=900 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq \
        --no-install-recommends "${missing[@]}"
fi
