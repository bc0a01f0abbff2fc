#!/usr/bin/env bash
# chaos/jobs/stamp.sh STATE_DIR [daemon]: the process job of chaos/run that records the physical
# truth about itself (see chaos/README.md, "Jobs that stamp themselves").
#
# Baton runs it as ["bash", ".../chaos/jobs/stamp.sh", STATE_DIR] with the job's parameters as
# JSON in BATON_PARAMETERS (and on stdin, not read), and BATON_JOB_ID, BATON_COMPONENT_ID,
# BATON_CONFIG_ID (BATON_ATTEMPT when the worker sets it) in its environment.
#
# It opens STATE_DIR/locks/COMPONENT.CONFIG.lock on fd 9 and takes `flock -n 9`. The lock
# belongs to the open file, which every descendant inherits with fd 9: it is held as long as any
# process of the job lives, a SIGKILLed worker's orphans and a setsid daemon included. When it
# cannot be taken, another process of the same configuration is alive right now: it appends an
# OVERLAP record and carries on (and keeps trying, so it holds the lock once the other is gone).
#
# Records, appended to STATE_DIR/stamps.log, one line each (short lines: O_APPEND keeps them whole):
#   KIND JOB COMPONENT.CONFIG ATTEMPT EPOCH PID DETAIL
# KIND: OVERLAP, lock (taken late), start, tick (every second while it runs), term (SIGTERM
# received), end (the main process ends normally), dstart/dtick/dend (the setsid daemon).
#
# Parameters: seconds (how long the main process runs, default 15), variant:
#   plain        sleep `seconds`, in 1 s ticks
#   ignore-term  the same with SIGTERM ignored (trap '' TERM, inherited by its children)
#   daemon-wait  start a descendant that calls setsid (a new session: the job's process-group
#                signals miss it) and keeps fd 9 and the output pipes open for daemon_seconds
#                (default 120), then wait for it
#   daemon-exit  the same daemon, but the main process exits after `seconds`
#   nul          print a line holding a NUL byte (printf 'a\000b\n')
#   utf8         print invalid UTF-8 (printf '\xff\xfe\n')
#   bigline      print a 10 MB line without a newline until the end (10485760 bytes of 'x')
#   flood        print 200,000 short lines
set -u

dir=${1:?usage: stamp.sh STATE_DIR [daemon]}
mode=${2:-main}
job=${BATON_JOB_ID:-0}
key="${BATON_COMPONENT_ID:-unknown}.${BATON_CONFIG_ID:-unknown}"
attempt=${BATON_ATTEMPT:-?}
params=${BATON_PARAMETERS:-"{}"}
stamps=$dir/stamps.log

stamp() {  # KIND [DETAIL]
    printf '%s %s %s %s %s %s %s\n' "$1" "$job" "$key" "$attempt" "$EPOCHREALTIME" "$$" "${2:--}" >>"$stamps"
}

param() {  # NAME DEFAULT: a top-level number or string of the parameters (flat JSON written by chaos/run)
    local value
    value=$(printf '%s' "$params" | grep -o "\"$1\" *: *\"\{0,1\}[^\",}]*" | head -n 1 | sed 's/^[^:]*: *"\{0,1\}//')
    printf '%s' "${value:-$2}"
}

micros() {  # now in microseconds since the epoch
    local t=$EPOCHREALTIME
    printf '%s' "${t/./}"
}

to_micros() {  # decimal seconds -> microseconds
    local s=$1 whole frac
    whole=${s%%.*}; frac=
    [[ $s == *.* ]] && frac=${s#*.}
    frac=${frac}000000
    printf '%s' "$(( 10#${whole:-0} * 1000000 + 10#${frac:0:6} ))"
}

locked=0
try_lock() {
    if ((!locked)) && flock -n 9; then locked=1; fi
}

run_for() {  # SECONDS [TICK-KIND]: sleep in ticks of at most 1 s, stamping each
    local end=$(( $(micros) + $(to_micros "$1") )) left kind=${2:-tick}
    while :; do
        left=$(( end - $(micros) ))
        ((left > 0)) || break
        if ((!locked)); then
            try_lock
            ((locked)) && stamp lock
        fi
        stamp "$kind"
        if ((left >= 1000000)); then sleep 1; else sleep "0.$(printf '%06d' "$left")"; fi
    done
}

if [[ $mode == daemon ]]; then
    # The setsid daemon: fd 9 (the lock), stdout and stderr were inherited; it keeps them.
    locked=1
    stamp dstart "sid $(ps -o sid= -p $$ 2>/dev/null | tr -d ' ')"
    run_for "$(param daemon_seconds 120)" dtick
    stamp dend
    exit 0
fi

mkdir -p "$dir/locks"
exec 9>>"$dir/locks/$key.lock"
try_lock
((locked)) || stamp OVERLAP "lock held by another process"
variant=$(param variant plain)
seconds=$(param seconds 15)
stamp start "$variant"

case $variant in
    plain)
        trap 'stamp term; exit 143' TERM
        run_for "$seconds" ;;
    ignore-term)
        trap '' TERM
        run_for "$seconds" ;;
    daemon-wait|daemon-exit)
        trap 'stamp term; exit 143' TERM
        # Not a process group leader (job control is off), so setsid calls setsid() and execs:
        # $! is the daemon itself.
        setsid bash "$0" "$dir" daemon &
        daemon=$!
        stamp spawned "daemon $daemon"
        if [[ $variant == daemon-wait ]]; then
            wait "$daemon"
        else
            run_for "$seconds"
        fi ;;
    nul)     printf 'a\000b\n' ;;
    utf8)    printf '\xff\xfe\n' ;;
    bigline) head -c 10485760 /dev/zero | tr '\0' 'x' ;;
    flood)   seq -f 'line %g' 1 200000 ;;
    *)       echo "stamp.sh: unknown variant '$variant'" >&2; stamp end "unknown-variant"; exit 2 ;;
esac
stamp end "$variant"
exit 0
