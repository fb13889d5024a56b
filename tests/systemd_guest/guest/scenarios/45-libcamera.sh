# timeout: 300
# The Pi camera's route, proven on a virtual libcamera pipeline: vimc (sensors, debayers, scaler
# and capture nodes behind a media controller, built out of tree; loaded by hw-setup) driven by
# Debian's libcamera (bookworm-backports' 0.3.2: its vimc pipeline handler and IPA) through its
# GStreamer source, by the bridge unit the package ships as an example, into v4l2loopback
# (/dev/video20, loaded by hw-setup with the options docs/hardware.md gives), as
# docs/hardware.md tells for a Pi Camera Module.
#  1. Without libcamera, a vimc raw node: `enrolld probe` marks it "may need libcamera" and
#     `enrolld capture` on it fails (exit 1) naming the broken pipe and the route.
#  2. The bridge: the package's enrolld-libcamera-bridge.service, copied to /etc/systemd/system
#     as the docs say, with a drop-in for vimc's size, runs; `enrolld probe` shows the loopback
#     node offering YUYV and `enrolld capture` takes a JPEG from it (exported; the host decodes
#     it at 480x360).
#  3. The packaged daemon as the service with camera.device on the loopback node, started while
#     the bridge is stopped (as at boot, before its first frame): it comes up idle; once the
#     bridge runs again, a button press registers a picture from the camera (exported, decoded
#     at 480x360).
# vimc draws a test pattern, not a face: the daemon's configuration here turns [face] off.
# 480x360: libcamera's vimc handler runs the sensor at a third of the output size (its scaler
# "hardcodes a x3 scale-up") and wants sizes that divide by 6; small, as vimc's debayer and
# scaler run on the CPU, and this one is emulated.
. /usr/local/lib/enrolld-test/systemd.sh

BRIDGE=enrolld-libcamera-bridge.service
BRIDGE_EXAMPLE=/usr/share/doc/enrolld/examples/$BRIDGE
BRIDGE_DROPINS=/etc/systemd/system/$BRIDGE.d
NODE=/dev/video20
LC_CONFIG=$RK_RUN/libcamera.toml
restore() {
    systemctl stop "$BRIDGE" 2>/dev/null
    rm -rf "/etc/systemd/system/$BRIDGE" "$BRIDGE_DROPINS"
    systemctl daemon-reload
    daemon_back
}
trap restore EXIT

# --- what the route needs, each missing piece named ---
missing=
for p in libcamera-ipa gstreamer1.0-libcamera gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-tools; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] || fail "Debian packages not installed:$missing (tests/systemd_guest/host/rootfs.sh installs them)"
[ -f "$BRIDGE_EXAMPLE" ] || fail "the package has no $BRIDGE_EXAMPLE: $(dpkg -L enrolld | grep -i example | tr '\n' ' ')"
[ -d /sys/module/vimc ] || fail "the vimc module is not loaded: $(cat /run/enrolld-test-vimc.err 2>/dev/null)"
[ -d /sys/module/v4l2loopback ] && [ -e "$NODE" ] ||
    fail "no v4l2loopback node $NODE: $(cat /run/enrolld-test-v4l2loopback.err 2>/dev/null)"
# vimc's nodes by their entity names (sysfs), and their stable links.
node_named() {
    local d
    for d in /sys/class/video4linux/video*; do
        [ "$(cat "$d/name")" = "$1" ] && echo "/dev/${d##*/}" && return 0
    done
    return 1
}
raw=$(node_named "Raw Capture 0") || fail "no vimc node 'Raw Capture 0': $(cat /sys/class/video4linux/*/name | tr '\n' ',')"

# enrolld capture's configuration: the guest's, with this camera, run as root with the token
# as a file (outside the service there is no credential).
capture_config() { # device format
    sed -e "s|^device = .*|device = \"$1\"|" -e "s/^format = .*/format = \"$2\"/" \
        -e 's/^width = .*/width = 480/' -e 's/^height = .*/height = 360/' \
        -e "s|^\\[api\\]|[api]\\ntoken_file = \"$SG/token\"|" "$SG/enrolld.toml" >"$LC_CONFIG"
}
# The block `enrolld probe` prints for one node.
probe_block() { # probe-output node
    printf '%s\n' "$1" | awk -v n="$2" '$0 == n { on = 1; print; next } /^[^ ]/ { on = 0 } on'
}

# --- 1. the raw node without libcamera ---
out=$(enrolld probe 2>&1)
block=$(probe_block "$out" "$raw")
printf '%s\n' "$block" | grep -q 'driver: vimc' || fail "enrolld probe does not list $raw as vimc: $block"
printf '%s\n' "$block" | grep -q 'may need libcamera: a media-controller node' ||
    fail "enrolld probe does not say $raw may need libcamera: $(printf '%s' "$block" | head -n 6 | tr '\n' '|')"
capture_config "$raw" rgb24
code=0
out=$(enrolld --config "$LC_CONFIG" capture --out "$RK_RUN/raw.jpg" 2>&1) || code=$?
[ "$code" = 1 ] || fail "enrolld capture on the raw node $raw: exit $code, not 1: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"
printf '%s\n' "$out" | grep -q 'broken pipe' && printf '%s\n' "$out" | grep -q 'v4l2loopback' ||
    fail "enrolld capture on $raw does not name the broken pipe and the route: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"
[ ! -e "$RK_RUN/raw.jpg" ] || fail "enrolld capture on $raw wrote a picture"
raw_says=$(printf '%s\n' "$out" | grep 'broken pipe' | head -n 1)

# --- 2. the bridge, as shipped, and enrolld probe and capture on its node ---
cp "$BRIDGE_EXAMPLE" /etc/systemd/system/
mkdir -p "$BRIDGE_DROPINS"
printf '[Service]\nEnvironment=BRIDGE_WIDTH=480\nEnvironment=BRIDGE_HEIGHT=360\n' >"$BRIDGE_DROPINS/size.conf"
systemctl daemon-reload
b=$(journal_mark)
systemctl start "$BRIDGE" || fail "$BRIDGE did not start: $(journal_since "$b" -u "$BRIDGE" -o cat | tail -n 6 | tr '\n' ' ')"
bridge_log() { journal_since "$b" -u "$BRIDGE" -o cat | grep -v '^$' | tail -n "${1:-6}" | tr '\n' ' '; }
# The node offers capture once the pipeline writes (exclusive_caps=1): the first frame.
wait_for_node() {
    local _
    block=
    for _ in $(seq 1 120); do
        block=$(probe_block "$(enrolld probe 2>&1)" "$NODE")
        printf '%s\n' "$block" | grep -qE '^  YUYV ' && return 0
        systemctl -q is-active "$BRIDGE" || fail "$BRIDGE stopped: $(bridge_log)"
        sleep 0.5
    done
    fail "the bridge's node $NODE offers no YUYV after 60 s: $(printf '%s' "$block" | head -n 6 | tr '\n' '|') (bridge: $(bridge_log))"
}
wait_for_node
printf '%s\n' "$block" | grep -q 'driver: v4l2 loopback' || fail "enrolld probe does not show $NODE as v4l2loopback: $(printf '%s' "$block" | head -n 3 | tr '\n' '|')"
card=$(printf '%s\n' "$block" | sed -n 's/.*card: \(.*\)  bus:.*/\1/p')
capture_config "$NODE" auto
rm -f "$RK_RUN/libcamera.jpg"
code=0
start=$(date +%s%N)
out=$(enrolld --config "$LC_CONFIG" capture --out "$RK_RUN/libcamera.jpg" 2>&1) || code=$?
ms=$((($(date +%s%N) - start) / 1000000))
[ "$code" = 0 ] || fail "enrolld capture from the bridge ($NODE): exit $code: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ') (bridge: $(bridge_log))"
took=$(printf '%s\n' "$out" | grep -m1 'YUYV' | sed 's/^.*\] //')
export_file "$RK_RUN/libcamera.jpg" libcamera-capture.jpg

# --- 3. the daemon as the service, on the bridge's node ---
# Started while the bridge is down (at boot the bridge's first frame comes after enrolld has
# started): the node offers no capture then. In on-demand mode the camera is opened at a press,
# so the daemon starts and waits as usual, and a press once frames come registers.
release_button
no_tickets || fail "a pending ticket could not be used up"
systemctl stop "$BRIDGE"
write_config -e "s|^device = .*|device = \"$NODE\"|" -e 's/^format = .*/format = "auto"/' \
    -e 's/^width = .*/width = 480/' -e 's/^height = .*/height = 360/'
printf '\n[face]\nenabled = false\n' >>"$SG_CONFIG"
c=$(journal_mark)
systemctl restart enrolld || fail "enrolld did not start on the bridge's node with the bridge stopped: $(unit_journal "$c" 8)"
wait_for_state idle 60 || fail "the daemon on the bridge's node (bridge stopped) is not idle: $(unit_journal "$c" 8)"
without="$(unit_prop ActiveState)/$(unit_prop SubState), $(status_field state)"
b=$(journal_mark)
systemctl start "$BRIDGE" || fail "$BRIDGE did not start again: $(bridge_log)"
wait_for_node
press_and_register 90 || fail "no registration from the libcamera camera after a press: $(unit_journal "$c" 10) (bridge: $(bridge_log))"
announced=$(journal_since "$c" -u enrolld -o cat | grep -m1 "$NODE: YUYV" | sed 's/^.*\] //')
[ -n "$announced" ] || fail "the daemon did not log taking YUYV from $NODE: $(unit_journal "$c" 10)"
[ "$(status_object_field last_outcome code)" = registered ] || fail "last outcome '$(status_object_field last_outcome code)', not registered"
systemctl -q is-active "$BRIDGE" || fail "$BRIDGE is no longer running: $(bridge_log)"
# Restarts are the unit's answer to a pipeline that ended (Restart=always); said, not hidden.
restarts=$(systemctl show -p NRestarts --value "$BRIDGE")
versions=$(dpkg-query -W -f='${Package} ${Version}, ' gstreamer1.0-libcamera libcamera-ipa)
jpeg=$(ls -t "$RK_RUN"/standin-jpeg/*.jpg | head -n 1)
export_file "$jpeg" libcamera-daemon.jpg
result PASS "libcamera: ${versions%, }; raw $raw without libcamera: probe says may need libcamera, capture exit 1 ($raw_says); the shipped $BRIDGE (480x360 by a drop-in) feeds $NODE ('$card'): capture in $ms ms ($took); the service started with the bridge stopped ($without); with the bridge running again: $announced, one press registered; bridge restarts: $restarts"
