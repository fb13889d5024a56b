# Guest helper library for real-kernel scenarios (busybox sh). Each scenario
# starts with `. /lib/enrolld-test/lib.sh`; the init script also uses it to set
# up the simulated hardware. Everything here acts on the real kernel drivers:
# gpio-sim through configfs and sysfs, vivid through the platform bus.
#
# The gpio-sim chip: label "enroll-sim", 8 lines, named ones at fixed offsets
#   0 led   1 led-red   2 button   3 presence
# Programs must find lines by name through the GPIO character device; the
# helpers below find them by name through configfs, never by chip number
# (on aarch64 -M virt the board's PL061 is gpiochip0 and gpio-sim is not).

RK_RUN=/run/enrolld-test
RK_SIM_CFG=/sys/kernel/config/gpio-sim/enroll
RK_SIM_LABEL=enroll-sim
RK_SIM_LINES="led led-red button presence"

# --- results -----------------------------------------------------------------

# result PASS|FAIL <detail...>: the scenario's verdict, once. The host reads
# "ENROLLD-RESULT <scenario> <PASS|FAIL> <detail>" from the serial console;
# a scenario that ends without calling result is reported as FAIL by init.
result() {
    local status=$1 detail
    shift
    case $status in PASS | FAIL) ;; *) detail="bad status '$status': $*"; status=FAIL ;; esac
    [ -n "${detail:-}" ] || detail=$(echo "$*" | tr '\n\r' '  ' | sed 's/ *$//')
    [ -e "$RK_RUN/results/$RK_SCENARIO" ] && return 0
    mkdir -p "$RK_RUN/results"
    echo "$status $detail" >"$RK_RUN/results/$RK_SCENARIO"
    echo "ENROLLD-RESULT $RK_SCENARIO $status $detail"
}

# run_scenario <script>: one scenario, announced by ENROLLD-START, in its own
# shell (so `exit` and `set -e` in one cannot stop the others) and with its
# limit (`# timeout: N` in the script, default 60 s), so a hung daemon costs
# one scenario. A scenario that ends without a result is failed here. Sets
# RK_LAST_SCENARIO to its name (file name without `NN-` and `.sh`). Used by
# the real-kernel init and the systemd guest's runner (GNU timeout there: 124
# or 137 when it had to kill).
run_scenario() {
    local script=$1 name limit code
    name=${script##*/}
    name=${name%.sh}
    name=${name#[0-9][0-9]-}
    limit=$(sed -n 's/^# timeout: *\([0-9]*\).*/\1/p' "$script" | head -n 1)
    echo "ENROLLD-START $name at $(cut -d' ' -f1 /proc/uptime) s"
    RK_SCENARIO=$name timeout -s KILL "${limit:-60}" sh "$script" </dev/null
    code=$?
    if [ ! -e "$RK_RUN/results/$name" ]; then
        case $code in
        124 | 137) echo "ENROLLD-RESULT $name FAIL no result within ${limit:-60} s (killed)" ;;
        *) echo "ENROLLD-RESULT $name FAIL no result reported (exit status $code)" ;;
        esac
    fi
    RK_LAST_SCENARIO=$name
}

# fail <detail>: FAIL and stop the scenario.
fail() {
    result FAIL "$*"
    exit 1
}

# check <description> <command...>: runs the command, fails the scenario
# naming the description (and the command's output) when it does not succeed.
check() {
    local what=$1 out
    shift
    out=$("$@" 2>&1) || fail "$what: $(echo "$out" | tail -n 3)"
}

# log <text>: a diagnostic line in the serial log (not a result).
log() { echo "[$RK_SCENARIO] $*"; }

# export_file <path> <name>: copies a guest file to the host through the
# serial console as base64 between markers; the host saves it as
# target/real-kernel/<arch>/artifacts/<name> after checking size and sha256.
# For test artifacts only (e.g. a captured JPEG), never product logs.
export_file() {
    local path=$1 name=$2 size sum
    [ -f "$path" ] || fail "export_file: no file $path"
    size=$(wc -c <"$path")
    sum=$(sha256sum "$path" | cut -d' ' -f1)
    echo "ENROLLD-FILE $name BEGIN"
    base64 "$path"
    echo "ENROLLD-FILE $name END $size $sum"
}

# wait_for_file <path> <timeout-s> [<grep -E pattern>]: until the file exists
# (and contains the pattern). Returns 1 on timeout.
wait_for_file() {
    local path=$1 timeout=$2 pattern=${3:-} tenths=0
    while [ "$tenths" -lt $((timeout * 10)) ]; do
        if [ -e "$path" ] && { [ -z "$pattern" ] || grep -qE "$pattern" "$path" 2>/dev/null; }; then
            return 0
        fi
        usleep 100000
        tenths=$((tenths + 1))
    done
    return 1
}

# --- gpio-sim -------------------------------------------------------------------

# Creates and activates the simulated chip (init does this once at boot).
gpiosim_create() {
    local bank=$RK_SIM_CFG/bank0 offset=0 name
    grep -q configfs /proc/mounts || mount -t configfs none /sys/kernel/config
    mkdir "$RK_SIM_CFG" "$bank"
    echo 8 >"$bank/num_lines"
    echo "$RK_SIM_LABEL" >"$bank/label"
    for name in $RK_SIM_LINES; do
        mkdir "$bank/line$offset"
        echo "$name" >"$bank/line$offset/name"
        offset=$((offset + 1))
    done
    echo 1 >"$RK_SIM_CFG/live"
}

# The chip's character device name (gpiochipN), as the kernel assigned it.
gpiosim_chip() { cat "$RK_SIM_CFG/bank0/chip_name"; }

# The chip's sysfs directory holding sim_gpio<offset>/{pull,value}.
gpiosim_sysfs() { echo "/sys/devices/platform/$(cat "$RK_SIM_CFG/dev_name")/$(gpiosim_chip)"; }

# line_offset <name>: offset of the named line, looked up in configfs.
line_offset() {
    local d
    for d in "$RK_SIM_CFG"/bank0/line*; do
        if [ "$(cat "$d/name")" = "$1" ]; then
            echo "${d##*/line}"
            return 0
        fi
    done
    echo "line_offset: no gpio-sim line named '$1'" >&2
    return 1
}

# line_attr <name> <attr>: path of sim_gpio<offset>/<attr> for a named line.
line_attr() {
    local offset
    offset=$(line_offset "$1") || return 1
    echo "$(gpiosim_sysfs)/sim_gpio$offset/$2"
}

# drive_line <name> high|low: what the outside world does to an input line
# (gpio-sim's pull). A consumer requesting it as input sees this level.
drive_line() {
    local attr
    attr=$(line_attr "$1" pull) || return 1
    case $2 in
    high) echo pull-up >"$attr" ;;
    low) echo pull-down >"$attr" ;;
    *) echo "drive_line: level must be high or low, not '$2'" >&2; return 1 ;;
    esac
}

# line_value <name>: the line's current level (0/1): what a consumer drives
# on an output, or the pull on an input.
line_value() {
    local attr v
    attr=$(line_attr "$1" value) || return 1
    read -r v <"$attr"
    echo "$v"
}

# The button and presence sensor are active-high in the guest configuration:
# idle low (gpio-sim's default pull-down), pressed / present high.
press_button() { drive_line button high; }
release_button() { drive_line button low; }
# set_presence 1|0
set_presence() {
    case $1 in 1) drive_line presence high ;; 0) drive_line presence low ;; *) return 1 ;; esac
}

# --- timing-exact helpers (rk-gpio-edges) -------------------------------------
# A shell loop costs several forks per step; under TCG on a busy host that is
# tens to hundreds of milliseconds, enough to turn a bounce into separate
# presses or to stretch an LED run. What must be fast or measured is done by
# the compiled guest tool, which also reports what really happened.

# bounce_button <edges>: alternating presses and releases (odd: ends pressed)
# in one tight loop; prints "BURST edges=N max_gap_us=G total_us=T".
bounce_button() { rk-gpio-edges burst "$(line_attr button pull)" "$1"; }

# hold_line <name> <ms>: the line high for ms, then low; prints "HELD us=N".
hold_line() { rk-gpio-edges hold "$(line_attr "$1" pull)" "$2"; }

# watch_line <ms> [<line>] [<stop-file>]: the line's level runs over ms (or
# until the stop file exists), as "level:ms level:ms ..." (first and last
# runs cut by the window).
watch_line() {
    local out
    out=$(rk-gpio-edges watch "$(line_attr "${2:-led}" value)" "$1" ${3:+"$3"}) || return 1
    echo "${out#RUNS }"
}

# line_holder <name>: "used=<consumer> value=<0|1>" or "free value=<0|1>",
# the level read between two line-info reads that agree (so the level was
# read while that holder held the line).
line_holder() { rk-gpio-edges holder "$1" "$(line_attr "$1" value)"; }

# runs_match <pattern> <runs>: the measured runs (watch_line) against the
# pattern table of src/gpio/patterns.rs, single LED. Succeeds or prints why
# not. Runs are classed by the nearest nominal length (geometric midpoints)
# and each class's median must be within 30 % of the table: one late wake-up
# of a loaded guest moves one run, not the verdict.
#   fault       SOS: dot 170, dash 510 lit; gaps 170 / 510 / 1190
#   queued      500 lit (or more: a busy blink may run into it), 1500 dark, 500 lit
#   registered  off, busy blinks (250 / 250), one solid 3000, off
runs_match() {
    echo "$2" | awk -v kind="$1" '
        # Nearest of two or three nominal lengths, split at their geometric
        # means (busybox awk has no sqrt: passed in).
        function near(ms, a, ab, b, bc, c) {
            if (c > 0 && ms >= bc) return c
            if (ms >= ab) return b
            return a
        }
        function median(list, n,   i, j, t, v) {
            for (i = 1; i <= n; i++) v[i] = list[i]
            for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j-1] > v[j]; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
            return n % 2 ? v[(n + 1) / 2] : (v[n/2] + v[n/2 + 1]) / 2
        }
        function within(ms, nominal) { return ms >= 0.7 * nominal && ms <= 1.3 * nominal }
        function check_class(nominal,   n, i, m) {
            n = 0
            for (i = 1; i <= k; i++) if (cls[i] == nominal) seen[++n] = len[i]
            if (n == 0) return 1
            m = median(seen, n)
            if (!within(m, nominal)) { why = why " median " m " ms for the " nominal " ms runs;"; return 0 }
            return 1
        }
        {
            k = 0
            for (i = 2; i < NF; i++) { split($i, r, ":"); k++; lvl[k] = r[1]; len[k] = r[2] + 0 }
            split($1, r, ":"); first = r[1]; split($NF, r, ":"); last = r[1]
            why = ""
            if (kind == "fault") {
                code = ""
                for (i = 1; i <= k; i++) {
                    if (lvl[i] == 1) { cls[i] = near(len[i], 170, 294, 510, 0, 0); code = code (cls[i] == 170 ? "." : "-") }
                    else { cls[i] = near(len[i], 170, 294, 510, 779, 1190); code = code (cls[i] == 170 ? "" : cls[i] == 510 ? " " : " / ") }
                }
                cycle = "... --- ... / "; cycles = cycle cycle cycle cycle
                if (k < 12) why = why " only " k " whole runs;"
                else if (index(cycles, code) == 0) why = why " marks \"" code "\" are not SOS;"
                for (c = 1; c <= 3; c++) { nominal = (c == 1 ? 170 : c == 2 ? 510 : 1190); check_class(nominal) }
            } else if (kind == "queued") {
                # Shown for 3 s after a press was queued: flash, gap, flash.
                # The first flash may run on from a lit busy blink, so it is
                # only bounded below.
                found = 0
                for (i = 1; i + 2 <= k; i++)
                    if (lvl[i] == 1 && len[i] >= 350 && within(len[i+1], 1500) && within(len[i+2], 500)) found = 1
                if (!found) why = why " no 500 ms flash, 1500 ms gap, 500 ms flash;"
            } else if (kind == "registered") {
                # The solid run is the last lit one; the busy blinks come before it.
                solid = 0
                for (i = 1; i <= k; i++) if (lvl[i] == 1) solid = i
                if (first != 0 || last != 0) why = why " not off at both ends;"
                if (solid == 0) why = why " never lit;"
                else {
                    if (len[solid] < 2700 || len[solid] > 3600) why = why " solid run of " len[solid] " ms, not 3000;"
                    blinks = 0
                    for (i = 1; i < solid; i++) { cls[i] = 250; if (lvl[i] == 1) blinks++ }
                    if (blinks < 2) why = why " " blinks " busy blinks before it;"
                    cls[solid] = -1
                    check_class(250)
                }
            } else why = "unknown pattern " kind
            if (why != "") { print substr(why, 2); exit 1 }
        }'
}

# --- vivid ----------------------------------------------------------------------

RK_VIVID_DRIVER=/sys/bus/platform/drivers/vivid

# The camera disappears as a real USB camera does when unplugged: the driver
# lets go of the device and /dev/video0 goes away.
vivid_unbind() {
    echo vivid.0 >"$RK_VIVID_DRIVER/unbind" || return 1
    local tenths=0
    while [ -e /dev/video0 ] && [ "$tenths" -lt 50 ]; do usleep 100000; tenths=$((tenths + 1)); done
    [ ! -e /dev/video0 ]
}

vivid_bind() {
    echo vivid.0 >"$RK_VIVID_DRIVER/bind" || return 1
    wait_for_file /dev/video0 5
}

# is_jpeg <file>: starts with SOI (ff d8 ff) and ends with EOI (ff d9).
is_jpeg() {
    [ "$(head -c 3 "$1" | od -An -tx1 | tr -d ' \n')" = ffd8ff ] &&
        [ "$(tail -c 2 "$1" | od -An -tx1 | tr -d ' \n')" = ffd9 ]
}

# capture_scenario <config format> <fourcc>: one `enrolld capture` from vivid
# at 1280x720 asking for the format, checks the report and the JPEG, and
# exports it as capture-<format>.jpg for the host to decode.
capture_scenario() {
    local fmt=$1 fourcc=$2 cfg out jpg size cap
    cfg=$RK_RUN/capture-$fmt.toml
    jpg=$RK_RUN/capture-$fmt.jpg
    sed "s/^format = .*/format = \"$fmt\"/" /etc/enrolld/enrolld.toml >"$cfg"
    out=$(enrolld --config "$cfg" capture --out "$jpg" 2>&1) ||
        fail "enrolld capture ($fmt) failed: $(echo "$out" | tail -n 3)"
    echo "$out" | grep -q "^format: $fourcc" || fail "capture used another format: $(echo "$out" | grep '^format')"
    echo "$out" | grep -q '^resolution: 1280x720$' || fail "capture resolution: $(echo "$out" | grep '^resolution')"
    is_jpeg "$jpg" || fail "$jpg does not start with SOI and end with EOI"
    size=$(wc -c <"$jpg")
    cap=$(sed -n 's/^max_image_bytes = \([0-9]*\)/\1/p' "$cfg")
    [ "$size" -le "${cap:-1500000}" ] || fail "JPEG of $size bytes is over the cap"
    log "$(echo "$out" | grep '^ms:')"
    export_file "$jpg" "capture-$fmt.jpg"
    result PASS "$fourcc 1280x720 -> JPEG $size bytes; $(echo "$out" | grep '^ms:')"
}

# --- the USB camera: v4l2loopback fed by rk-loopback-feed ---------------------------------
# v4l2loopback's capture side delivers what a producer writes to its output side. The feeder
# plays a UVC webcam's sensor and encoder: 1280x720 MJPEG (or YUYV) at a frame rate, real
# photos with a face or without, damaged MJPEG frames on demand. What it fed is in its log,
# `FRAME <n> <file> <good|damage kind> <bytes>` per frame (tools/rk_loopback_feed.rs).

# exclusive_caps=1: a capture-only node while fed, nothing to capture before (like a camera).
RK_CAM=/dev/video10
# exclusive_caps=0: announces capture and output at all times.
RK_CAM_ALLCAPS=/dev/video11
RK_FRAMES=/lib/enrolld-test/frames
RK_FEED_LOG=$RK_RUN/feed.log
RK_FEED_CONTROL=$RK_RUN/feed.control
# The build's one change to the driver (v4l2loopback/enrolld_enum_fmt_cap.c): 1 = a device fed
# MJPEG also lists YUYV, first, as a UVC camera offers both.
RK_CAM_DUAL_PARAM=/sys/module/v4l2loopback/parameters/enrolld_mjpeg_lists_yuyv

# feed_start <mjpeg|yuyv> [face|noface] [<fps>] [<device>]: the feeder on the camera (default
# 30 fps on $RK_CAM), undamaged; returns once its first frame is written (1 if it failed or
# did not within 20 s; its log says why). Stopped by stop_all (installed as the EXIT trap) or
# feed_stop.
feed_start() {
    local tenths=0
    feed_stop
    # A log left by an earlier feeder would say READY before this one has opened the device.
    rm -f "$RK_FEED_LOG"
    RK_FEED_SERIAL=1
    printf 'serial 1\npicture %s\ndamage none\n' "${2:-face}" >"$RK_FEED_CONTROL"
    rk-loopback-feed feed "${4:-$RK_CAM}" "$1" 1280x720 "${3:-30}" "$RK_FRAMES" "$RK_FEED_CONTROL" \
        >"$RK_FEED_LOG" 2>&1 &
    RK_FEED_PID=$!
    trap stop_all EXIT
    until grep -q '^READY' "$RK_FEED_LOG" 2>/dev/null; do
        feed_alive && [ "$tenths" -lt 200 ] || return 1
        usleep 100000
        tenths=$((tenths + 1))
    done
}

# feed_set picture face|noface, feed_set damage none|<kind>,<kind>,...: changes the running
# feeder's settings; returns once it applied them (1 if not within 10 s: see feed_tail).
feed_set() {
    RK_FEED_SERIAL=$((RK_FEED_SERIAL + 1))
    sed -e "s/^serial .*/serial $RK_FEED_SERIAL/" -e "s/^$1 .*/$1 $2/" "$RK_FEED_CONTROL" >"$RK_FEED_CONTROL.new"
    mv "$RK_FEED_CONTROL.new" "$RK_FEED_CONTROL"
    wait_for_file "$RK_FEED_LOG" 10 "^CONTROL serial=$RK_FEED_SERIAL "
}

feed_alive() { [ -n "${RK_FEED_PID:-}" ] && kill -0 "$RK_FEED_PID" 2>/dev/null; }

feed_stop() {
    [ -n "${RK_FEED_PID:-}" ] || return 0
    kill "$RK_FEED_PID" 2>/dev/null
    wait "$RK_FEED_PID" 2>/dev/null
    RK_FEED_PID=
}

# feed_frames: how many frames the feeder has written so far.
feed_frames() { grep -c '^FRAME ' "$RK_FEED_LOG" 2>/dev/null || echo 0; }

# feed_tail: the feeder's last log lines on one line, for failure details.
feed_tail() { grep -v '^FRAME ' "$RK_FEED_LOG" 2>/dev/null | tail -n "${1:-3}" | tr '\n' ' '; }

# fed_file_of <file>: the name of the frame file the file is byte for byte, among those the
# feeder wrote undamaged; 1 if it is none of them.
fed_file_of() {
    local f
    for f in $(awk '$1 == "FRAME" && $4 == "good" { print $3 }' "$RK_FEED_LOG" | sort -u); do
        cmp -s "$1" "$RK_FRAMES/$f" && { echo "$f"; return 0; }
    done
    return 1
}

# cam_config <format> [<device>] [<[camera] line>...]: the guest configuration with the
# camera on the loopback node (default $RK_CAM) in that format, plus the lines given.
cam_config() {
    local fmt=$1 dev=${2:-$RK_CAM}
    shift
    [ "$#" = 0 ] || shift
    awk -v dev="$dev" -v fmt="$fmt" -v extra="$(printf '%s\n' "$@")" '
        /^device = / { print "device = \"" dev "\""; next }
        /^format = / { print "format = \"" fmt "\""; if (extra != "") print extra; next }
        { print }' /etc/enrolld/enrolld.toml
}

# cam_dual on|off: whether $RK_CAM, fed MJPEG, also lists YUYV (the build's change, see
# RK_CAM_DUAL_PARAM); back to off when v4l2loopback is loaded anew.
cam_dual() {
    case $1 in on) echo 1 ;; off) echo 0 ;; *) return 1 ;; esac >"$RK_CAM_DUAL_PARAM"
}

# cam_unplug: the camera disappears: v4l2loopback unloaded, its nodes gone. The kernel refuses
# (1) while any of them is open: a producer or a consumer holds the module.
cam_unplug() {
    rmmod v4l2loopback || return 1
    local tenths=0
    while [ -e "$RK_CAM" ] && [ "$tenths" -lt 50 ]; do usleep 100000; tenths=$((tenths + 1)); done
    [ ! -e "$RK_CAM" ]
}

# cam_plug: v4l2loopback loaded again with the parameters init gave it (modules.order).
cam_plug() {
    # shellcheck disable=SC2046 # the file's words: the module, then its parameters
    set -- $(grep '^v4l2loopback\.ko ' /lib/enrolld-test/modules.order)
    [ -n "${1:-}" ] || return 1
    local ko=$1
    shift
    insmod "/lib/enrolld-test/modules/$ko" "$@" || return 1
    wait_for_file "$RK_CAM" 5
}

# cam_capture <config> <out.jpg>: `enrolld capture`; its report (stdout and stderr) in
# CAM_OUT, its exit status in CAM_CODE.
cam_capture() {
    CAM_OUT=$(enrolld --config "$1" capture --out "$2" 2>&1)
    CAM_CODE=$?
}

# cam_capture_ok <config> <out.jpg> <MJPEG|YUYV>: cam_capture, and the scenario fails unless
# it succeeded in that format at 1280x720 with a whole JPEG.
cam_capture_ok() {
    cam_capture "$1" "$2"
    [ "$CAM_CODE" = 0 ] || fail "enrolld capture exit $CAM_CODE: $(echo "$CAM_OUT" | tail -n 2)"
    echo "$CAM_OUT" | grep -q "^format: $3 " || fail "capture not in $3: $(echo "$CAM_OUT" | grep '^format')"
    echo "$CAM_OUT" | grep -q '^resolution: 1280x720$' || fail "capture resolution: $(echo "$CAM_OUT" | grep '^resolution')"
    is_jpeg "$2" || fail "$2 does not start with SOI and end with EOI"
}

# --- IDMeta stand-in --------------------------------------------------------------

RK_STANDIN_ADDR=127.0.0.1:8443

# start_standin [<behaviour>]: `enrolld-standin` on loopback over TLS, with
# the guest's token and template id (RK_TEMPLATE_ID, default the guest
# configuration's; a whole number for api.version = 3); its CA in $RK_RUN/standin-ca.pem, the
# requests it saw in $RK_RUN/standin.jsonl (token and image left out), its
# output in $RK_RUN/standin.log. Returns once it listens (1 if it did not
# within 30 s). Switch behaviour later with standin_behaviour.
start_standin() {
    rm -rf "$RK_RUN/standin-ca.pem" "$RK_RUN/standin.jsonl" "$RK_RUN/standin-jpeg"
    mkdir -p "$RK_RUN/standin-jpeg"
    echo "${1:-ok}" >"$RK_RUN/standin-behaviour"
    enrolld-standin --listen "$RK_STANDIN_ADDR" --ca-out "$RK_RUN/standin-ca.pem" \
        --records "$RK_RUN/standin.jsonl" --token-file /etc/enrolld/token \
        --template-id "${RK_TEMPLATE_ID:-real-kernel-test}" --behaviour "${1:-ok}" \
        --behaviour-file "$RK_RUN/standin-behaviour" --jpeg-dir "$RK_RUN/standin-jpeg" \
        >"$RK_RUN/standin.log" 2>&1 &
    RK_STANDIN_PID=$!
    wait_for_file "$RK_RUN/standin.log" 30 'listening on'
}

# standin_behaviour <name>: switches the running stand-in (through its
# behaviour file: the guest has no HTTPS client); returns once it took it.
standin_behaviour() {
    echo "$1" >"$RK_RUN/standin-behaviour"
    wait_for_file "$RK_RUN/standin.log" 10 "behaviour is now $1\$"
}

# standin_registrations: how many registration requests the stand-in saw (v1's
# "register" and v3's "register_v3").
standin_registrations() {
    [ -e "$RK_RUN/standin.jsonl" ] || { echo 0; return; }
    grep -c '"endpoint":"register' "$RK_RUN/standin.jsonl"
}

# standin_requests [<endpoint>]: how many requests the stand-in saw, of every kind, or of one
# (register, create_verification, finalize_verification).
standin_requests() {
    [ -e "$RK_RUN/standin.jsonl" ] || { echo 0; return; }
    if [ -n "${1:-}" ]; then
        grep -c "\"endpoint\":\"$1\"" "$RK_RUN/standin.jsonl"
    else
        grep -c . "$RK_RUN/standin.jsonl"
    fi
}

# expect_no_request_since <count> <when>: fails unless the stand-in saw no request of any kind
# since standin_requests said <count> (naming the endpoints of those it saw).
expect_no_request_since() {
    local n
    n=$(standin_requests)
    [ "$n" = "$1" ] || fail "$2: $((n - $1)) requests reached the stand-in, expected none: $(tail -n +$(($1 + 1)) "$RK_RUN/standin.jsonl" | sed -n 's/.*"endpoint":"\{0,1\}\([a-z_]*\).*/\1/p' | tr '\n' ' ')"
}

# standin_usernames: the usernames of the registrations the stand-in saw,
# one per line, in arrival order.
standin_usernames() {
    [ -e "$RK_RUN/standin.jsonl" ] || return 0
    grep '"endpoint":"register"' "$RK_RUN/standin.jsonl" | sed -n 's/.*"username":"\([^"]*\)".*/\1/p'
}

stop_standin() {
    [ -n "${RK_STANDIN_PID:-}" ] || return 0
    kill "$RK_STANDIN_PID" 2>/dev/null
    wait "$RK_STANDIN_PID" 2>/dev/null
    RK_STANDIN_PID=
}

# standin_config: the guest configuration trusting the running stand-in's CA.
standin_config() {
    awk -v ca="$RK_RUN/standin-ca.pem" \
        '{ print } /^token_file = / { print "ca_file = \"" ca "\""; print "ca_file_only = true" }' \
        /etc/enrolld/enrolld.toml
}

# --- the daemon ---------------------------------------------------------------------

RK_DAEMON_DIR=$RK_RUN/daemon
RK_STATUS=$RK_DAEMON_DIR/status.json

# daemon_config [button|presence]: an `enrolld run` configuration on the
# gpio-sim lines by name (chip by label), vivid at 640x480 (~6 fps under TCG:
# one warm-up frame, one frame per enrollment) unless daemon_on_loopback chose
# the USB-camera-like device, the stand-in's CA pinned, state under
# $RK_DAEMON_DIR, and short timings so scenarios stay quick.
daemon_config() {
    local trigger
    case ${1:-button} in
    button) trigger='line = "button"
debounce_ms = 250
cooldown_ms = 500' ;;
    presence) trigger='line = "presence"
debounce_ms = 50
hold_ms = 1500
rearm_ms = 1500' ;;
    *) return 1 ;;
    esac
    cat <<EOF
[terminal]
id = "rk"
username_template = "{terminal_id}-{seq}"

[api]
base_url = "https://$RK_STANDIN_ADDR"
template_id = "real-kernel-test"
token_file = "/etc/enrolld/token"
ca_file = "$RK_RUN/standin-ca.pem"
ca_file_only = true
connect_timeout_ms = 3000
request_timeout_ms = 20000

[trigger]
kind = "${1:-button}"
chip = "$RK_SIM_LABEL"
$trigger
active_low = false
bias = "as-is"

[indicator]
kind = "single"
chip = "$RK_SIM_LABEL"
line = "led"

[camera]
${RK_DAEMON_CAMERA:-$RK_VIVID_CAMERA}

# vivid draws test patterns, which are no face to the detector: off unless a scenario showing a
# real face asks for it (daemon_on_loopback).
[face]
enabled = ${RK_FACE_CHECK:-false}
${RK_FACE_EXTRA:-}

# The guest has no panel and no font package (an initramfs, not the .deb, which depends on
# fonts-dejavu-core): the screen stays off, as a site's terminal without one would set it.
[display]
enabled = false

[status]
path = "$RK_STATUS"

[queue]
dir = "$RK_DAEMON_DIR/queue"
backoff_base_ms = 500
backoff_max_ms = 1000

[control]
socket = "$RK_DAEMON_DIR/control.sock"
tickets_file = "$RK_DAEMON_DIR/tickets.json"
EOF
}

# The daemon's camera unless a scenario sets RK_DAEMON_CAMERA: vivid at 640x480.
RK_VIVID_CAMERA='device = "/dev/video0"
width = 640
height = 480
format = "yuyv"
warmup_frames = 1
burst = 1'

# daemon_on_loopback <mjpeg|yuyv>: the next start_daemon's camera is the USB-camera-like
# v4l2loopback device at 1280x720 in that format, with the face check on (the feeder plays
# real photos: start it with feed_start first).
daemon_on_loopback() {
    RK_DAEMON_CAMERA="device = \"$RK_CAM\"
width = 1280
height = 720
format = \"$1\"
warmup_frames = 1
burst = ${RK_LOOPBACK_BURST:-2}"
    RK_FACE_CHECK=true
    RK_FACE_EXTRA="deadline_ms = ${RK_FACE_DEADLINE_MS:-4000}"
}

# start_daemon [button|presence] [<run option>...]: `enrolld run` from a
# fresh state directory; returns once the status file says idle (1 if not
# within 60 s). Output in $RK_RUN/daemon.log.
start_daemon() {
    local kind=${1:-button}
    [ "$#" = 0 ] || shift
    rm -rf "$RK_DAEMON_DIR"
    mkdir -p "$RK_DAEMON_DIR"
    daemon_config "$kind" >"$RK_RUN/daemon.toml" || return 1
    enrolld --config "$RK_RUN/daemon.toml" run "$@" >"$RK_RUN/daemon.log" 2>&1 &
    RK_DAEMON_PID=$!
    trap stop_all EXIT
    wait_for_state idle 60
}

# stop_daemon: SIGTERM and wait; the exit status in RK_DAEMON_CODE (not
# printed: `wait` only works in the shell that started the daemon).
stop_daemon() {
    kill -TERM "$RK_DAEMON_PID" 2>/dev/null
    wait "$RK_DAEMON_PID"
    RK_DAEMON_CODE=$?
    RK_DAEMON_PID=
}

# stop_all: the daemon, the stand-in and the camera's feeder, whatever state
# the scenario ended in (start_daemon and feed_start install it as the EXIT
# trap), so the next scenario finds port 8443, the lines and the camera free.
stop_all() {
    [ -z "${RK_DAEMON_PID:-}" ] || stop_daemon
    stop_standin
    feed_stop
}

daemon_alive() { kill -0 "$RK_DAEMON_PID" 2>/dev/null; }

# status_field <name>: a scalar from the status file (first match; pretty JSON).
status_field() {
    sed -n "s/^ *\"$1\": *\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" "$RK_STATUS" 2>/dev/null | head -n 1
}

# status_object_field <object> <name>: a scalar inside a top-level object
# of the status file ("camera" "ok" -> true/false).
status_object_field() {
    awk -v o="\"$1\":" -v k="\"$2\":" '
        $1 == o { inside = 1; next }
        inside && $1 == k { v = $2; gsub(/[",]/, "", v); print v; exit }
        inside && /^ *}/ { exit }' "$RK_STATUS"
}

# wait_for_state <state> <timeout-s>
wait_for_state() {
    wait_for_file "$RK_STATUS" "$2" "\"state\": *\"$1\""
}

# wait_registrations <n> <timeout-s>: until the stand-in saw n registrations.
wait_registrations() {
    local tenths=0
    while [ "$(standin_registrations)" -lt "$1" ]; do
        [ "$tenths" -lt $(($2 * 10)) ] || return 1
        usleep 100000
        tenths=$((tenths + 1))
    done
}

# daemon_tail: the daemon's last log lines on one line, for failure details.
daemon_tail() { tail -n "${1:-4}" "$RK_RUN/daemon.log" | tr '\n' ' '; }

# wait_ready_for_press <timeout-s>: until the daemon is idle again and the button's cooldown
# (cooldown_ms = 500, counted from the end of the result display) is over: a press made before
# that is dropped by design once the daemon knows the display ended, and a scenario that presses
# at once after idle loses its press whenever the guest is quick (1 if not idle in time).
wait_ready_for_press() {
    wait_for_state idle "$1" || return 1
    usleep 1000000
}

# pulse_button: one press of 500 ms (longer than the button's debounce_ms,
# which a level must outlast to count).
pulse_button() {
    press_button
    usleep 500000
    release_button
}

# wait_line <name> <level> <timeout-s>: until the line reads that level.
wait_line() {
    local tenths=0
    while [ "$(line_value "$1")" != "$2" ]; do
        [ "$tenths" -lt $(($3 * 10)) ] || return 1
        usleep 100000
        tenths=$((tenths + 1))
    done
}

# check_clean_logs: neither the daemon's output nor its status file holds the token.
check_clean_logs() {
    local token
    token=$(cat /etc/enrolld/token)
    ! grep -qF "$token" "$RK_RUN/daemon.log" "$RK_STATUS"
}

# expect_registrations <n> <when>: fails unless the stand-in saw exactly n.
expect_registrations() {
    local n
    n=$(standin_registrations)
    [ "$n" = "$1" ] || fail "$2: $n registrations, expected $1"
}

# stop_daemon_cleanly: SIGTERM, and fail unless it exits with status 0.
stop_daemon_cleanly() {
    stop_daemon
    [ "$RK_DAEMON_CODE" = 0 ] || fail "daemon exit status $RK_DAEMON_CODE after SIGTERM: $(daemon_tail)"
}
