# One boot of the power-cut chain (busybox sh, run by init with the disk mounted). Two parts:
#
# 1. Judge what the last cut left: the files as the cut left them (the host has read the disk
#    image itself before this boot; the listing here is for it to compare), then enrolld
#    started on them (it repairs what it finds), every pending ticket pressed, the queue
#    drained, each unknown delivery resent or dropped as an operator would, and the files once
#    more. Ends with PC-JUDGED. On the last boot of a chain it then stops and powers off
#    (PC-DONE).
# 2. The step this boot is cut in (pc.step): a workload that goes through that step of an
#    enrollment. The host kills QEMU when the daemon's log (or this script) shows the step's
#    marker on the console, after a random delay: the cut lands on and around the step.
#
# Two channels to the host: the console (kernel, daemon log, markers; watched live for the
# cut) and the events port, a virtio serial port whose writes return only once QEMU has
# written them to a host file, so an event (a ticket the daemon acknowledged, a queue
# listing) is on the host before anything that follows it here. The stand-in writes its
# ledger (every request it received, before it answers) to a port of its own the same way.
# The host judges from those two files; nothing here decides PASS or FAIL.

# wait_for_file, status_field, status_object_field
. /lib/enrolld-test/lib.sh
RK_STATUS=/run/enrolld/status.json
STATE=/var/lib/enrolld
RUN=/run/power-cut
CONFIG=/etc/enrolld/enrolld.toml
mkdir -p "$RUN"

exec 3>"$PC_EVENTS"
# event <line>: on the host (blocking write), then on the console.
event() {
    echo "$*" >&3
    echo "$*"
}

# Every name under the state directory, one line (the files a cut left: records, temporary
# files, corrupt/).
files() { (cd "$STATE" && find . -mindepth 1 | sort | tr '\n' ' '); }

# The tickets file as one line (pretty JSON without its line breaks).
tickets_line() { [ -e "$STATE/tickets.json" ] && tr -d '\n' <"$STATE/tickets.json" | tr -s ' '; }

# The daemon's records as one line of JSON (through its control socket).
queue_line() { enrolld --config "$CONFIG" queue list --json | tr -d '\n' | tr -s ' '; }

start_standin() {
    echo ok >"$RUN/behaviour"
    enrolld-standin --listen 127.0.0.1:8443 --ca-out "$RUN/standin-ca.pem" \
        --records "$PC_LEDGER" --token-file /etc/enrolld/token --template-id power-cut-test \
        --behaviour-file "$RUN/behaviour" >"$RUN/standin.log" 2>&1 &
    wait_for_file "$RUN/standin.log" 60 'listening on' ||
        event "PC-FAILED the stand-in did not start: $(tr '\n' ' ' <"$RUN/standin.log")"
}

# behaviour <name>: switches the stand-in; returns once it took it.
behaviour() {
    echo "$1" >"$RUN/behaviour"
    wait_for_file "$RUN/standin.log" 10 "behaviour is now $1\$" ||
        event "PC-FAILED the stand-in did not switch to $1"
}

start_daemon() {
    enrolld-daemon --config "$CONFIG" run --verbose >/dev/console 2>&1 &
    DAEMON=$!
    local tenths=0
    until grep -qE '"state": *"idle"' "$RK_STATUS" 2>/dev/null; do
        if ! kill -0 "$DAEMON" 2>/dev/null; then
            wait "$DAEMON"
            event "PC-DAEMON-FAILED exit status $?"
            return 1
        fi
        tenths=$((tenths + 1))
        [ "$tenths" -lt 900 ] || { event "PC-DAEMON-FAILED not idle within 90 s"; return 1; }
        usleep 100000
    done
    event "PC-UP"
}

# settle: presses while tickets are pending, until none is and the queue is empty with
# nothing in progress. 1 if that takes more than 120 s.
settle() {
    local tenths=0 state pending depth
    while [ "$tenths" -lt 1200 ]; do
        state=$(status_field state)
        pending=$(status_field tickets_pending)
        depth=$(status_object_field queue depth)
        case $state in
        capturing | submitting | starting) ;;
        *)
            if [ "${pending:-0}" -gt 0 ]; then
                enrolld --config "$CONFIG" trigger >/dev/null 2>&1
            elif [ "${depth:-1}" = 0 ]; then
                return 0
            fi
            ;;
        esac
        usleep 200000
        tenths=$((tenths + 2))
    done
    event "PC-FAILED not settled within 120 s: state $state, $pending tickets, queue $depth"
    return 1
}

# Each unknown delivery is resolved as an operator would: resent (IDMeta may then see it a
# second time, with the same capture) or dropped, alternately; one without its image on
# record can only be dropped.
resolve_unknown() {
    # One record per object of the pretty JSON, whatever the order of its fields.
    enrolld --config "$CONFIG" queue list --json | awk '
        /"id":/ { id = $2; gsub(/[^0-9]/, "", id) }
        /"state":/ { state = $2 }
        /"username":/ { name = $2; gsub(/[",]/, "", name) }
        /"resendable":/ { resendable = ($2 ~ /true/) }
        /^ *}/ { if (state ~ /unknown/) print id, name, resendable; state = "" }' |
        while read -r id name resendable; do
            if [ "$resendable" = 1 ] && [ $(((id + PC_BOOT) % 2)) = 0 ]; then
                event "PC-RESEND $id $name"
                enrolld --config "$CONFIG" queue resend "$id" >/dev/null
            else
                event "PC-DROP $id $name"
                enrolld --config "$CONFIG" queue drop "$id" >/dev/null
            fi
        done
}

judge() {
    # The host read the disk before this boot (tests/power_cut/found.rs); this is the same
    # disk as the guest's kernel mounted it, for the host to compare.
    event "PC-FILES-BEFORE $(files)"
    start_standin
    start_daemon || return 1
    event "PC-QUEUE-START $(queue_line)"
    settle || return 1
    resolve_unknown
    settle || return 1
    event "PC-QUEUE-END $(queue_line)"
    event "PC-TICKETS-END $(tickets_line)"
    event "PC-FILES-AFTER $(files)"
    event "PC-JUDGED $PC_BOOT"
}

# --- the steps ------------------------------------------------------------------------

# enroll <name> [<verification id>]: a ticket, acknowledged (PC-ACCEPTED) once the daemon
# said it is stored.
enroll() {
    event "PC-ENROLL $1"
    if enrolld --config "$CONFIG" enroll --username "$1" ${2:+--verification-id "$2"} >/dev/null; then
        event "PC-ACCEPTED ticket $1"
    fi
}

# someone: who the next press enrolls: a ticket (half of them with their own verification
# id), or nobody, so the username template names the press.
someone() {
    case $(((PC_BOOT + $1) % 3)) in
    0) enroll "t${PC_BOOT}$1" ;;
    1) enroll "t${PC_BOOT}$1" "v-${PC_BOOT}-$1" ;;
    2) ;;
    esac
}

press() {
    event "PC-PRESS"
    enrolld --config "$CONFIG" trigger >/dev/null
}

# queued_press: a press while the stand-in refuses connections, acknowledged once the
# status file says it was queued (the record is on disk then; the status file's only
# username is the last outcome's).
queued_press() {
    behaviour refuse
    someone "$1"
    press
    wait_for_file "$RK_STATUS" 60 '"code": *"queued"' &&
        event "PC-ACCEPTED queued $(sed -n 's/^ *"username": *"\([^"]*\)".*/\1/p' "$RK_STATUS")"
}

# The host watches for the step's marker only after PC-ARM: the stand-in's behaviour is set
# by then, so an earlier line of the same kind (a refused delivery before the one that is
# sent) cannot trigger the cut. deliver-send is the exception: the delivery worker retries
# every 200 ms, so it may send before a behaviour switch made first is taken, and the marker
# would never come; it arms before the stall, and a cut may then land on a last refused try
# (still a queued record being delivered).
run_step() {
    case $PC_STEP in
    ticket-write) event PC-ARM && enroll "t${PC_BOOT}a" && enroll "t${PC_BOOT}b" ;;
    ticket-acked) event PC-ARM && enroll "t${PC_BOOT}a" ;;
    bind | seal | answer) event PC-ARM && someone a && press ;;
    wire) behaviour stall:2500 && event PC-ARM && someone a && press ;;
    retake) behaviour retake:no_face && event PC-ARM && enroll "t${PC_BOOT}a" && press ;;
    refused) behaviour status-false && event PC-ARM && someone a && press ;;
    queue) behaviour refuse && event PC-ARM && someone a && press ;;
    deliver-retry) queued_press a && event PC-ARM ;;
    deliver-send) queued_press a && event PC-ARM && behaviour stall:1500 ;;
    startup) ;;
    *) event "PC-FAILED unknown step '$PC_STEP'" ;;
    esac
    event "PC-WORKLOAD-DONE"
}

# --- SD card wear (tests/power_cut.rs, the wear boot: no cut) ----------------------------

# The state directory's disk as the kernel counts it (Documentation/block/stat.rst): write
# requests, sectors written (512 bytes each), cache flushes.
disk_counters() { awk '{ print $5, $7, $16 }' /sys/block/vda/stat; }

# synced_counters: the counters once everything written so far is on the disk (ext4's
# journal commit and the write-back of its metadata included).
synced_counters() {
    sync
    disk_counters
}

# wear <what> <command...>: runs the command and reports what the disk received for it:
# PC-WEAR <what> writes=N bytes=N flushes=N. Writes and bytes are all of it (`sync` after it
# writes what ext4 would write in the next seconds: unsynced files such as the metrics
# textfile count), less what a `sync` alone costs (SYNC_COST, measured first by this with
# `true`). Flushes are those before that closing `sync`, a second after the command ended: with
# ext4's commit timer pushed out (measure_wear: commit=600) nothing but an fsync (a journal
# commit, or a bare flush when it has nothing to commit) flushes the disk's cache in that
# window, so they count the daemon's fsyncs and nothing else: not the 5 s timer's commit that
# may or may not fall inside a step, nor the harness's own `sync`. The raw counts are left in
# WEAR ("writes sectors flushes").
wear() {
    local what=$1 before during after
    shift
    before=$(synced_counters)
    "$@" || { event "PC-FAILED wear $what: $* failed"; return 1; }
    # A deletion's fsync may follow the status file's "idle" by a few milliseconds.
    sleep 1
    during=$(disk_counters)
    after=$(synced_counters)
    # shellcheck disable=SC2086 # three numbers each
    set -- $before $after $SYNC_COST $during
    WEAR="$(($4 - $1 - $7)) $(($5 - $2 - $8)) $((${12} - $3))"
    # shellcheck disable=SC2086
    set -- $WEAR
    event "PC-WEAR $what writes=$1 bytes=$(($2 * 512)) flushes=$3"
}

idle_a_while() { sleep 20; }
# One fsync of a new 4 KiB file, what a single fsync costs this disk and file system.
one_fsync() { dd if=/dev/zero of="$STATE/wear-probe" bs=4096 count=1 conv=fsync 2>/dev/null; }
# counted_press <code>: a press, until the status file counts one more <code> outcome and the
# terminal is idle again (the last outcome's code alone may be the previous press's).
counted_press() {
    local before tenths=0
    before=$(status_object_field counters "$1")
    press || return 1
    until [ "$(status_object_field counters "$1")" -gt "${before:-0}" ] 2>/dev/null &&
        [ "$(status_field state)" = idle ]; do
        tenths=$((tenths + 1))
        [ "$tenths" -lt 600 ] || { event "PC-FAILED wear: no $1 press counted within 60 s"; return 1; }
        usleep 100000
    done
}
registered_press() { counted_press registered; }
press_and_one_fsync() { registered_press && one_fsync; }
# A ticket (written to the tickets file, acknowledged once durable), then its press (the ticket
# goes into the press's .bound record and leaves the file).
ticket_push() { enrolld --config "$CONFIG" enroll --username "wear-ticket" >/dev/null; }

queued_press_only() { counted_press queued; }
# The stand-in answering again, until the queued press is delivered.
delivery() { behaviour ok && wait_for_file "$RK_STATUS" 120 '"depth": *0,?$'; }

# Measured with the package's defaults for the queue (how often a refused delivery is tried
# again), a 1280x720 camera (a JPEG the size a terminal sends), the metrics textfile on the
# same disk (as a terminal without a tmpfs for it has it) and presses named by the template,
# then a ticket and its press; each figure is one step, the daemon idle before and after it.
measure_wear() {
    local wear_config=$RUN/wear.toml
    sed -e '/^backoff_/d' -e 's/^width = .*/width = 1280/' -e 's/^height = .*/height = 720/' \
        "$CONFIG" >"$wear_config"
    mkdir -p "$STATE/node-exporter"
    printf '\n[metrics]\ntextfile = "%s"\n' "$STATE/node-exporter/enrolld.prom" >>"$wear_config"
    # ext4's periodic commit (5 s) out of the measuring windows: see wear().
    mount -o remount,commit=600 "$STATE" || { event "PC-FAILED wear: remount commit=600"; return 1; }
    kill -TERM "$DAEMON"
    wait "$DAEMON"
    CONFIG=$wear_config
    start_daemon || return 1
    [ -e "$STATE/node-exporter/enrolld.prom" ] ||
        { event "PC-FAILED wear: the daemon wrote no metrics textfile"; return 1; }
    SYNC_COST="0 0 0"
    wear sync-alone true || return 1
    SYNC_COST=$WEAR
    wear one-fsync one_fsync || return 1
    rm -f "$STATE/wear-probe"
    # The first press after a start reserves the next 64 sequence numbers (one write in 64
    # presses): made before measuring, so the figures are what a press costs.
    registered_press || { event "PC-FAILED wear: the first press did not register"; return 1; }
    wear idle-20s idle_a_while || return 1
    wear registered-press registered_press || return 1
    # The known-bad case the goal's assertion must catch, on this kernel: a press with one
    # fsync more (wear.rs checks that the flushes saw it).
    wear press-and-one-fsync press_and_one_fsync || return 1
    rm -f "$STATE/wear-probe"
    behaviour refuse
    wear queued-press queued_press_only || return 1
    wear delivery delivery || return 1
    wear idle-20s-after idle_a_while || return 1
    wear ticket-push ticket_push || return 1
    wear ticket-press registered_press || return 1
    wear idle-20s-tickets idle_a_while || return 1
    event "PC-WEAR-DONE"
}

event "PC-BOOT $PC_BOOT step=$PC_STEP build=$PC_BUILD last=$PC_LAST"
if ! judge; then
    # Reported above (PC-FAILED, PC-DAEMON-FAILED); the host fails the chain on the power-off.
    poweroff -f
fi
if [ "$PC_STEP" = wear ]; then
    measure_wear
fi
if [ "$PC_LAST" = 1 ]; then
    kill -TERM "$DAEMON"
    wait "$DAEMON"
    event "PC-DONE daemon exit status $?"
    umount "$STATE"
    poweroff -f
fi
run_step
# Until the power is cut.
while :; do sleep 3600; done
