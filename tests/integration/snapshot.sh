#!/usr/bin/env bash
# snapshot.sh - `memscope snapshot PID` against the running workload: it
# finds the report directory and name the process uses (MEMSCOPE_OUT and
# MEMSCOPE_NAME from its environment, else MemoryAnalysis in its working
# directory and <program>-<pid>), sends the process's own snapshot signal,
# and prints the path of the new, complete snapshot: numbered after those
# already there, or one that replaced a stale file of the same name. It
# refuses, with one line and exit status 1, a process that does not exist,
# one without memscope or not tracing (which it leaves running), one whose
# snapshot signal is off, and a snapshot that does not come in time.
set -euo pipefail
. "$(dirname "$0")/common.bash"

[ -x "$MEMSCOPE_TOOL" ] || ms_fail "$MEMSCOPE_TOOL not built (run make)"
WL=$(ms_prog ms_workload)
ms_setup snapshot
T=$MEMSCOPE_TOOL
pids=()
# stop PID: ends a process started here and waits for it (and for the
# report it writes at exit)
stop() {
    kill -CONT "$1" 2>/dev/null || true
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
trap 'for p in "${pids[@]}"; do stop $p; done; rm -rf "$TMP"' EXIT
mkdir -p "$TMP/target" "$TMP/elsewhere"
TARGET=$(cd "$TMP/target" && pwd -P)

# start ENV...: the serving workload in $TMP/target with ENV (MEMSCOPE_OUT
# and MEMSCOPE_NAME unset unless given); sets $pid once it is ready
start() {
    local log=$TMP/serve.${#pids[@]}
    (cd "$TMP/target" && exec env -u MEMSCOPE_OUT -u MEMSCOPE_NAME "$@" \
        LD_PRELOAD="$MEMSCOPE_LIB" "$WL" serve 60) >"$log.out" 2>"$log.err" &
    pid=$!
    pids+=("$pid")
    for _ in $(seq 500); do grep -qs ready "$log.out" && return 0; sleep 0.02; done
    ms_fail "the serving workload did not start: $(head -3 "$log.err")"
}

# snap WANT ARGS...: memscope snapshot ARGS prints WANT (run elsewhere)
snap() {
    local want=$1 got rc=0
    shift
    got=$(cd "$TMP/elsewhere" && "$T" snapshot "$@" 2>"$TMP/snap.err") || rc=$?
    [ $rc = 0 ] || ms_fail "memscope snapshot $* exited $rc: $(cat "$TMP/snap.err")"
    [ "$got" = "$want" ] || ms_fail "memscope snapshot $* printed '$got', want '$want'"
    [ -s "$got" ] || ms_fail "$got does not exist"
    echo "ok: snapshot $*: $got"
}

# refused PATTERN ARGS...: exit 1, one stderr line matching PATTERN, no stdout
refused() {
    local pat=$1 rc=0
    shift
    (cd "$TMP/elsewhere" && "$T" snapshot "$@") >"$TMP/ref.out" 2>"$TMP/ref.err" || rc=$?
    [ $rc = 1 ] || ms_fail "memscope snapshot $* exited $rc, want 1: $(cat "$TMP/ref.err")"
    [ "$(wc -l <"$TMP/ref.err")" = 1 ] && grep -Eq "$pat" "$TMP/ref.err" ||
        ms_fail "memscope snapshot $*: want one line matching '$pat', got: $(cat "$TMP/ref.err")"
    [ ! -s "$TMP/ref.out" ] || ms_fail "memscope snapshot $* wrote to stdout"
    echo "ok: refused: $(cat "$TMP/ref.err")"
}

# Defaults: ./MemoryAnalysis in the process's directory, <program>-<pid>.
start
D=$TARGET/MemoryAnalysis/ms_workload-$pid
snap "$D.snapshot-1.bin" $pid
snap "$D.snapshot-2.bin" $pid --timeout 20
for f in json md; do
    [ -s "$D.snapshot-2.$f" ] || ms_fail "snapshot 2 is not complete: no .$f"
done
"$T" info "$D.snapshot-2.bin" | grep -q "^trigger: *signal, snapshot 2$" ||
    ms_fail "info does not show snapshot 2 by signal"
stop $pid

# MEMSCOPE_OUT, MEMSCOPE_NAME and MEMSCOPE_SIGNAL from the environment
# (SIGUSR1 would kill this process: it has no handler for it).
start MEMSCOPE_OUT="$TMP/reports" MEMSCOPE_NAME=named MEMSCOPE_SIGNAL=USR2
first=$pid
snap "$TMP/reports/named.snapshot-1.bin" $pid
kill -0 $pid || ms_fail "the process died: the wrong signal was sent"
# -o names the directory instead
snap "$TMP/reports/named.snapshot-2.bin" $pid -o "$TMP/reports"
stop $pid
# A new process of the same name: its snapshot-1 replaces the old one.
start MEMSCOPE_OUT="$TMP/reports" MEMSCOPE_NAME=named MEMSCOPE_SIGNAL=USR2
snap "$TMP/reports/named.snapshot-1.bin" $pid
"$T" info "$TMP/reports/named.snapshot-1.bin" | grep -q "^program: .*(pid $pid)$" ||
    ms_fail "the snapshot found is the stale one of pid $first"
stop $pid

# Only JSON written: its path is printed.
start MEMSCOPE_OUT="$TMP/reports" MEMSCOPE_NAME=jsononly MEMSCOPE_FORMATS=json
snap "$TMP/reports/jsononly.snapshot-1.json" $pid

# No snapshot in time: a stopped process takes no signal.
kill -STOP $pid
refused "no new snapshot in $TMP/reports within 1 s" $pid --timeout 1
stop $pid

# Refusals.
refused "no process with id 999999999$" 999999999
sleep 30 &
sleeper=$!
pids+=("$sleeper")
refused "process $sleeper does not run memscope" $sleeper
kill -0 $sleeper || ms_fail "a process without memscope was signalled"
start MEMSCOPE_ENABLE=0
refused "process $pid has memscope loaded but is not tracing" $pid
kill -0 $pid || ms_fail "a process not tracing was signalled"
start MEMSCOPE_SIGNAL=0
refused "process $pid takes no snapshot signal \(MEMSCOPE_SIGNAL=0\)" $pid
