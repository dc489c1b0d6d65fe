#!/usr/bin/env bash
# rel_sampled_loop.sh - the sampled path, many times over: the workload
# (tests/programs/ms_workload.c: malloc, calloc, realloc chains, threads,
# tasks, named variables) and the C++ operators (cxx_ops.cc: every new and
# delete form, aligned ones included) each run REL_SAMPLED_RUNS times
# (default 60) under small sampling intervals, where the sample decision
# is taken before the engine call and many blocks are made page-aligned
# at once. A heap corruption shows as a crash in a fraction of runs only
# (one did, in about 1 run of 100: a double free the workload used to do
# on purpose in sampled mode, which passes it to jemalloc unchecked), so
# one run proves little: every run must exit 0 and leave a whole report.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_setup rel_sampled_loop
RUNS=${REL_SAMPLED_RUNS:-60}
bad=0
for i in $(seq "$RUNS"); do
    out=$TMP/r$i
    for interval in 512 64; do
        rc=0
        env LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_OUT="$out" MEMSCOPE_NAME="wl$interval" \
            MEMSCOPE_SAMPLE=$interval MEMSCOPE_FORMATS=all \
            "$PROGS/ms_workload" run >"$TMP/wl.out" 2>"$TMP/wl.err" || rc=$?
        if [ $rc -ne 0 ] || ! [ -s "$out/wl$interval.json" ]; then
            echo "run $i, ms_workload, interval $interval: exit $rc"
            tail -n 3 "$TMP/wl.err"
            bad=$((bad + 1))
        fi
    done
    rc=0
    env LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_OUT="$out" MEMSCOPE_NAME=cxx \
        MEMSCOPE_SAMPLE=256 MEMSCOPE_FORMATS=bin,json \
        "$PROGS/cxx_ops" >"$TMP/cxx.out" 2>"$TMP/cxx.err" || rc=$?
    if [ $rc -ne 0 ] || ! [ -s "$out/cxx.json" ]; then
        echo "run $i, cxx_ops: exit $rc"
        tail -n 3 "$TMP/cxx.err"
        bad=$((bad + 1))
    fi
    ms_no_tmp "$out"
    rm -rf "$out"
done
[ $bad -eq 0 ] || ms_fail "$bad of $((RUNS * 3)) sampled runs failed"
echo "ok: $((RUNS * 3)) sampled runs (intervals 512, 64 and 256 B), every one exited 0 with its report"
