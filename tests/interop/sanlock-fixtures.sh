#!/usr/bin/env bash
# sanlock-fixtures.sh OUTDIR
#
# Produce on-disk lease fixtures with the REAL sanlock daemon (3.8.x), for
# interop tests that compare `sanlock direct dump` / `read_leader` output on
# the snapshots with paxlock's own tool.
#
# Two sanlock daemons are started as two hosts ("host-one" = host_id 1,
# "host-two" = host_id 2), each with its own run dir, no watchdog, no
# mlockall, unprivileged.  Lease areas are regular files in OUTDIR.  While
# every lease is still held, each image is copied to OUTDIR/snap/<name>; the
# tests read only OUTDIR/snap (the originals are released/modified again by
# the shutdown that follows).
#
# Produced (512-byte sectors / 1 MiB align unless noted):
#   ls.img    lockspace "TLS" @0, host 1 and host 2 live (renewing); host 1
#             has sent host 2 an event (gen/7/9) and holds bit 2 in its bitmap
#             (also set by the request on rel.img).
#   ex.img    "TLS:EXRES" @0, held EXCLUSIVE by host 1.
#   sh.img    "TLS:SHRES" @0, held SHARED by host 1 and host 2.
#   rel.img   "TLS:RELRES" @0: acquired EX by host 1, released, acquired EX by
#             host 2 (lver 2), then host 1 issued `client request` for lver 3
#             with force_mode 2 (graceful), so the request record is 3/2.
#             Host 2 reacts to a graceful request by sending SIGTERM to the
#             holder pid; the holder ignores SIGTERM, so host 2 keeps the lease
#             and the snapshot shows the lease held with a pending request.
#   rx.img    8 MiB: lockspace "RXLS" @0 (never joined), rindex @1M (format),
#             entries resA@3M and resB@4M (direct update), rindex lease @2M.
#   ls4k.img  lockspace "T4K" @0, 4096/1M geometry, host 1 live.
#   ex4k.img  "T4K:EX4K" @0, 4096/1M geometry, held EXCLUSIVE by host 1.
#
# Needs root (the daemons run as root with SANLOCK_PRIVILEGED=0) and a
# filesystem that supports O_DIRECT for OUTDIR.  Takes ~9 s.
#
# Process handling: every pid started here is recorded (daemons, their forked
# helper processes, `client command` holders, background add_lockspace
# clients) and an EXIT trap kills/shuts down whatever is still running, also
# on errors and signals.  Daemon and client output goes to OUTDIR/*.log;
# OUTDIR/holders.txt lists "host name pid resource" for each lease holder.
# The daemons run with `-L -1 -S -1` so that they do not log to syslog or
# /var/log/sanlock.log (everything is on their stderr thanks to -D).

set -euo pipefail

log() { echo "fixtures: $*" >&2; }
die() {
    echo "fixtures: ERROR: $*" >&2
    exit 1
}

if [[ $# -ne 1 ]]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi

command -v sanlock >/dev/null 2>&1 || die "sanlock not found in PATH (apt-get install -y sanlock)"
[[ $(id -u) -eq 0 ]] || die "must run as root (sanlock daemon -U root -G root)"

[[ $1 != *:* ]] || die "OUTDIR must not contain ':' (sanlock uses ':' as a separator): $1"
mkdir -p -- "$1"
OUT=$(cd -- "$1" && pwd -P)
[[ $OUT != *:* ]] || die "OUTDIR must not contain ':' (sanlock uses ':' as a separator): $OUT"
[[ $OUT != *[[:space:]]* ]] || die "OUTDIR must not contain whitespace: $OUT"

IO_TIMEOUT=1          # lockspace io_timeout (renewal every 2 s)
POLL_STEP=0.1
STEP_TIMEOUT=30       # seconds allowed for any single wait

# ---------------------------------------------------------------------------
# process bookkeeping and cleanup

DAEMON_PIDS=()   # sanlock daemon pids (index = host_id)
HELPER_PIDS=()   # the daemons' forked helper processes
CMD_PIDS=()      # `sanlock client command` processes (exec'd into the holders)
BG_PIDS=()       # other background clients (add_lockspace)
RUN_DIRS=()      # index = host_id
TMP_RUN_BASE=""  # set if the run dirs had to go to /tmp (socket path length)

pid_alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }
pid_gone() { ! pid_alive "$1"; }

# shutdown_daemons: `client shutdown -f 1` to every live daemon (in parallel
# with each other), wait up to 10 s for them to exit, then SIGKILL leftovers.
# Returns non-zero if a daemon had to be killed.
shutdown_daemons() {
    local h pid i left rc=0
    for h in "${!DAEMON_PIDS[@]}"; do
        pid=${DAEMON_PIDS[$h]}
        pid_alive "$pid" || continue
        SANLOCK_RUN_DIR=${RUN_DIRS[$h]} timeout 10 sanlock client shutdown -f 1 \
            >>"$OUT/client$h.log" 2>&1 || true
    done
    for ((i = 0; i < 100; i++)); do
        left=0
        for pid in "${DAEMON_PIDS[@]}"; do pid_alive "$pid" && left=1; done
        [[ $left -eq 0 ]] && break
        sleep "$POLL_STEP"
    done
    for h in "${!DAEMON_PIDS[@]}"; do
        pid=${DAEMON_PIDS[$h]}
        if pid_alive "$pid"; then
            echo "fixtures: daemon $h (pid $pid) did not exit after shutdown, killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
            rc=1
        fi
        wait "$pid" 2>/dev/null || true
    done
    DAEMON_PIDS=()
    return "$rc"
}

cleanup() {
    local rc=$? p h i
    trap - EXIT INT TERM HUP
    set +e
    if [[ $rc -ne 0 ]]; then
        echo "fixtures: failed (rc $rc), cleaning up; logs are in $OUT/*.log" >&2
    fi
    for p in "${CMD_PIDS[@]}" "${BG_PIDS[@]}"; do
        pid_alive "$p" && kill -KILL "$p" 2>/dev/null
    done
    for p in "${CMD_PIDS[@]}" "${BG_PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    shutdown_daemons
    # the helper child exits when its daemon goes away; make sure of it
    for ((i = 0; i < 50; i++)); do
        local left=0
        for p in "${HELPER_PIDS[@]}"; do pid_alive "$p" && left=1; done
        [[ $left -eq 0 ]] && break
        sleep "$POLL_STEP"
    done
    for p in "${HELPER_PIDS[@]}"; do
        pid_alive "$p" && kill -KILL "$p" 2>/dev/null
    done
    if [[ -n $TMP_RUN_BASE ]]; then
        rm -rf -- "$TMP_RUN_BASE"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---------------------------------------------------------------------------
# helpers

client() { # host_id args... -> sanlock client args... against that daemon
    local h=$1
    shift
    SANLOCK_RUN_DIR=${RUN_DIRS[$h]} sanlock client "$@"
}

direct() { # sanlock direct args..., output logged, fails loudly
    local out
    if ! out=$(sanlock direct "$@" 2>&1); then
        die "sanlock direct $* failed: $out"
    fi
    echo "+ sanlock direct $*" >>"$OUT/direct.log"
    echo "$out" >>"$OUT/direct.log"
    # `direct` exits 0 even for some failures; check the "done 0" line
    case $1 in
    init) grep -q '^init done 0$' <<<"$out" || die "sanlock direct $* failed: $out" ;;
    format) grep -q '^format done 0$' <<<"$out" || die "sanlock direct $* failed: $out" ;;
    update) grep -q '^update done 0$' <<<"$out" || die "sanlock direct $* failed: $out" ;;
    esac
}

# read_leader_field -s|-r SPEC FIELD: print one field of `direct read_leader`
read_leader_field() {
    local out
    out=$(sanlock direct read_leader "$1" "$2" 2>&1) || die "read_leader $1 $2 failed: $out"
    grep -q '^read_leader done 0$' <<<"$out" || die "read_leader $1 $2 failed: $out"
    awk -v f="$3" '$1 == f { print $2; found = 1 } END { exit !found }' <<<"$out" ||
        die "read_leader $1 $2: no field $3"
}

# read_byte FILE OFFSET: one byte (decimal), read with O_DIRECT so that the
# page cache never hides a daemon write
read_byte() {
    local blk=$(($2 / 4096)) off=$(($2 % 4096))
    dd if="$1" bs=4096 skip="$blk" count=1 iflag=direct status=none |
        od -An -tu1 -j "$off" -N 1 | tr -d ' '
}

# wait_until DESCRIPTION COMMAND...: poll COMMAND until it succeeds (bounded)
wait_until() {
    local what=$1 i n
    shift
    n=$(awk -v t="$STEP_TIMEOUT" -v s="$POLL_STEP" 'BEGIN { print int(t / s) }')
    for ((i = 0; i < n; i++)); do
        if "$@"; then return 0; fi
        sleep "$POLL_STEP"
    done
    die "timed out after ${STEP_TIMEOUT}s waiting for $what"
}

daemon_up() { # host_id
    pid_alive "${DAEMON_PIDS[$1]}" ||
        die "daemon $1 exited; see $OUT/daemon$1.log: $(tail -n 5 "$OUT/daemon$1.log" 2>/dev/null)"
    client "$1" status >/dev/null 2>&1
}

start_daemon() { # host_id host_name
    local h=$1 name=$2 dir=${RUN_DIRS[$1]}
    mkdir -p -- "$dir"
    SANLOCK_RUN_DIR=$dir SANLOCK_PRIVILEGED=0 \
        sanlock daemon -D -w 0 -l 0 -U root -G root -L -1 -S -1 -e "$name" \
        >"$OUT/daemon$h.log" 2>&1 &
    DAEMON_PIDS[h]=$!
}

# holder_listed HOST RESOURCE_PREFIX PID LOG: is the lease listed for PID?
holder_listed() {
    local h=$1 res=$2 pid=$3 st
    pid_alive "$pid" ||
        die "lease holder for $res on host $h (pid $pid) exited; $4: $(tail -n 5 "$4" 2>/dev/null)"
    st=$(client "$h" status 2>/dev/null) || return 1
    grep -q "^r ${res}:[^ ]* p ${pid}\$" <<<"$st"
}

# hold HOST RESOURCE LOGNAME [command...]: `client command` in the background,
# wait until the daemon lists the lease for that pid; sets HOLD_PID.
# The sanlock client execs the command after acquiring, so the client pid and
# the holder (sleep) pid are the same process.
hold() {
    local h=$1 res=$2 name=$3
    shift 3
    [[ $# -gt 0 ]] || set -- /bin/sleep 600
    SANLOCK_RUN_DIR=${RUN_DIRS[$h]} sanlock client command -r "$res" -c "$@" \
        >"$OUT/cmd-$name.log" 2>&1 </dev/null &
    HOLD_PID=$!
    CMD_PIDS+=("$HOLD_PID")
    # status prints the resource as LS:RES:PATH:OFF:LVER (or :SH)
    local prefix=${res%:SH}
    wait_until "host $h to hold $res (pid $HOLD_PID)" \
        holder_listed "$h" "$prefix" "$HOLD_PID" "$OUT/cmd-$name.log"
    echo "$h $name $HOLD_PID $res" >>"$OUT/holders.txt"
}

# ---------------------------------------------------------------------------
# setup

log "output directory $OUT"
RUN_DIRS[1]=$OUT/run1
RUN_DIRS[2]=$OUT/run2
# sun_path is 108 bytes: fall back to a short private dir for long OUTDIRs
if ((${#RUN_DIRS[1]} + 13 >= 100)); then # 13 = len("/sanlock.sock")
    TMP_RUN_BASE=$(mktemp -d /tmp/paxlock-fx.XXXXXX)
    RUN_DIRS[1]=$TMP_RUN_BASE/run1
    RUN_DIRS[2]=$TMP_RUN_BASE/run2
    log "OUTDIR path is long; using run dirs under $TMP_RUN_BASE"
fi
for h in 1 2; do
    if [[ -S ${RUN_DIRS[$h]}/sanlock.sock ]] && SANLOCK_RUN_DIR=${RUN_DIRS[$h]} sanlock client status >/dev/null 2>&1; then
        die "a sanlock daemon is already running on ${RUN_DIRS[$h]}; stop it first"
    fi
done

rm -rf -- "$OUT/snap"
rm -f -- "$OUT"/{ls,ex,sh,rel,rx,ls4k,ex4k}.img "$OUT"/*.log "$OUT/holders.txt"

truncate -s 1M "$OUT"/{ls,ex,sh,rel,ls4k,ex4k}.img
truncate -s 8M "$OUT/rx.img"

log "initialising lease areas (direct init -o $IO_TIMEOUT) ..."
direct init -o "$IO_TIMEOUT" -s "TLS:0:$OUT/ls.img:0"
direct init -o "$IO_TIMEOUT" -r "TLS:EXRES:$OUT/ex.img:0"
direct init -o "$IO_TIMEOUT" -r "TLS:SHRES:$OUT/sh.img:0"
direct init -o "$IO_TIMEOUT" -r "TLS:RELRES:$OUT/rel.img:0"
direct init -o "$IO_TIMEOUT" -s "T4K:0:$OUT/ls4k.img:0" -Z 4096 -A 1M
direct init -o "$IO_TIMEOUT" -r "T4K:EX4K:$OUT/ex4k.img:0" -Z 4096 -A 1M

log "building rindex fixture rx.img ..."
direct init -o "$IO_TIMEOUT" -s "RXLS:0:$OUT/rx.img:0"
direct format -x "RXLS:$OUT/rx.img:1048576"
direct update -x "RXLS:$OUT/rx.img:1048576" -e resA:3145728
direct update -x "RXLS:$OUT/rx.img:1048576" -e resB:4194304

log "starting daemons host-one (${RUN_DIRS[1]}) and host-two (${RUN_DIRS[2]}) ..."
start_daemon 1 host-one
start_daemon 2 host-two
wait_until "daemon 1 socket" daemon_up 1
wait_until "daemon 2 socket" daemon_up 2
for h in 1 2; do
    # the helper process forked by each daemon (so cleanup can make sure it is gone)
    for c in /proc/"${DAEMON_PIDS[$h]}"/task/*/children; do
        for p in $(cat "$c" 2>/dev/null); do HELPER_PIDS+=("$p"); done
    done
done
log "daemons up: host 1 pid ${DAEMON_PIDS[1]}, host 2 pid ${DAEMON_PIDS[2]} (helpers: ${HELPER_PIDS[*]:-none})"

# ---------------------------------------------------------------------------
# lockspaces (joined in parallel)

log "joining TLS as host 1 and 2, T4K as host 1 (io_timeout $IO_TIMEOUT, in parallel) ..."
join() { # host_id lockspace_spec log
    SANLOCK_RUN_DIR=${RUN_DIRS[$1]} sanlock client add_lockspace -s "$2" -o "$IO_TIMEOUT" >"$3" 2>&1 &
    BG_PIDS+=("$!")
}
join 1 "TLS:1:$OUT/ls.img:0" "$OUT/join-tls-1.log"
join 2 "TLS:2:$OUT/ls.img:0" "$OUT/join-tls-2.log"
join 1 "T4K:1:$OUT/ls4k.img:0" "$OUT/join-t4k-1.log"
join_names=("TLS host 1" "TLS host 2" "T4K host 1")
join_logs=("$OUT/join-tls-1.log" "$OUT/join-tls-2.log" "$OUT/join-t4k-1.log")
for i in 0 1 2; do
    # a bounded wait: add_lockspace takes ~2*io_timeout+; give it STEP_TIMEOUT
    wait_until "add_lockspace ${join_names[$i]}" pid_gone "${BG_PIDS[$i]}"
    if ! wait "${BG_PIDS[$i]}"; then
        die "add_lockspace ${join_names[$i]} failed: $(cat "${join_logs[$i]}")"
    fi
    grep -Eq '^add_lockspace(_timeout)? done 0$' "${join_logs[$i]}" ||
        die "add_lockspace ${join_names[$i]} failed: $(cat "${join_logs[$i]}")"
done
BG_PIDS=()
GEN1=$(read_leader_field -s "TLS:1:$OUT/ls.img:0" owner_generation)
GEN2=$(read_leader_field -s "TLS:2:$OUT/ls.img:0" owner_generation)
log "joined: TLS host 1 gen $GEN1, host 2 gen $GEN2; T4K host 1"

# ---------------------------------------------------------------------------
# resources

log "acquiring TLS:EXRES exclusively as host 1 ..."
hold 1 "TLS:EXRES:$OUT/ex.img:0" exres
EX_PID=$HOLD_PID

log "acquiring TLS:SHRES shared as host 1 and host 2 ..."
hold 1 "TLS:SHRES:$OUT/sh.img:0:SH" shres-1
SH1_PID=$HOLD_PID
hold 2 "TLS:SHRES:$OUT/sh.img:0:SH" shres-2
SH2_PID=$HOLD_PID

log "acquiring T4K:EX4K exclusively as host 1 ..."
hold 1 "T4K:EX4K:$OUT/ex4k.img:0" ex4k
EX4K_PID=$HOLD_PID

log "TLS:RELRES: acquire EX as host 1, release ..."
hold 1 "TLS:RELRES:$OUT/rel.img:0" relres-1
REL1_PID=$HOLD_PID
out=$(client 1 release -r "TLS:RELRES:$OUT/rel.img:0" -p "$REL1_PID" 2>&1) ||
    die "client release TLS:RELRES failed: $out"
kill -KILL "$REL1_PID" 2>/dev/null || true
wait "$REL1_PID" 2>/dev/null || true
rel_free() { [[ $(read_leader_field -r "TLS:RELRES:$OUT/rel.img:0" timestamp) == 0 ]]; }
wait_until "TLS:RELRES to be released" rel_free

log "TLS:RELRES: acquire EX as host 2 (holder ignores SIGTERM) ..."
# A graceful request (-f 2) makes the owner's daemon SIGTERM the holder; the
# holder ignores it so that the lease stays held with the request pending.
hold 2 "TLS:RELRES:$OUT/rel.img:0" relres-2 /bin/sh -c 'trap "" TERM; exec /bin/sleep 600'
REL2_PID=$HOLD_PID
REL_LVER=$(read_leader_field -r "TLS:RELRES:$OUT/rel.img:0" lver)
REL_OWNER=$(read_leader_field -r "TLS:RELRES:$OUT/rel.img:0" owner_id)
[[ $REL_OWNER == 2 ]] || die "TLS:RELRES owner is $REL_OWNER, expected 2"

log "TLS:RELRES: request lver $((REL_LVER + 1)) force_mode 2 from host 1 ..."
out=$(client 1 request -r "TLS:RELRES:$OUT/rel.img:0:$((REL_LVER + 1))" -f 2 2>&1) ||
    die "client request failed: $out"
echo "$out" >>"$OUT/client1.log"

log "host 1 sends event 7/9 to host 2 (gen $GEN2) and waits for the renewal ..."
out=$(client 1 set_event -s TLS -i 2 -g "$GEN2" -e 7 -d 9 2>&1) ||
    die "client set_event failed: $out"
echo "$out" >>"$OUT/client1.log"
event_written() {
    [[ $(read_leader_field -s "TLS:1:$OUT/ls.img:0" extra2) == 7 ]] &&
        (($(read_byte "$OUT/ls.img" 256) & 2))
}
wait_until "host 1's renewal to write the event and bitmap bit 2" event_written

# everything is held: check that it still is, then snapshot
for p in "$EX_PID" "$SH1_PID" "$SH2_PID" "$EX4K_PID" "$REL2_PID"; do
    pid_alive "$p" || die "lease holder pid $p exited before the snapshot"
done

# ---------------------------------------------------------------------------
# snapshot

log "snapshotting images into $OUT/snap ..."
mkdir -p -- "$OUT/snap"
leader_ok() { # -s|-r SPEC: the leader reads back with a valid checksum
    local out
    out=$(sanlock direct read_leader "$1" "$2" 2>&1) || return 1
    grep -q '^read_leader done 0$' <<<"$out"
}
snap_ok() { # name: the leaders that matter must verify in the copy
    local f=$OUT/snap/$1
    case $1 in
    ls.img) leader_ok -s "TLS:1:$f:0" && leader_ok -s "TLS:2:$f:0" ;;
    ls4k.img) leader_ok -s "T4K:1:$f:0" ;;
    ex.img) leader_ok -r "TLS:EXRES:$f:0" ;;
    sh.img) leader_ok -r "TLS:SHRES:$f:0" ;;
    rel.img) leader_ok -r "TLS:RELRES:$f:0" ;;
    ex4k.img) leader_ok -r "T4K:EX4K:$f:0" ;;
    *) true ;;
    esac
}
for name in ls.img ex.img sh.img rel.img rx.img ls4k.img ex4k.img; do
    ok=0
    for try in 1 2 3 4 5; do
        # one O_DIRECT read of the whole file; a renewal is a single sector write
        dd if="$OUT/$name" of="$OUT/snap/$name" bs=8M iflag=direct status=none
        if snap_ok "$name"; then
            ok=1
            break
        fi
        log "snapshot of $name did not verify (torn by a renewal?), retrying"
        sleep 0.2
    done
    [[ $ok -eq 1 ]] || die "could not take a consistent snapshot of $name"
done
# the bitmap bit is only guaranteed for set_bitmap_seconds: check the snapshot
(($(read_byte "$OUT/snap/ls.img" 256) & 2)) || die "snap/ls.img lost host 1's bitmap bit for host 2"

# ---------------------------------------------------------------------------
# shutdown

log "shutting down ..."
for p in "${CMD_PIDS[@]}"; do
    if pid_alive "$p"; then kill -KILL "$p" 2>/dev/null || true; fi
    wait "$p" 2>/dev/null || true
done
CMD_PIDS=()
shutdown_daemons || die "a daemon did not shut down cleanly (see $OUT/daemon*.log)"

log "done; snapshots:"
ls -l "$OUT/snap" >&2
