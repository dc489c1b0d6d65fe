#!/usr/bin/env bash
# rel_signal.sh - the snapshot signal (tests/programs/rel_signal.c).
#
# 1. REL_SIGNALS SIGUSR1 (500) over REL_SIGNAL_SECONDS (5 s) into a
#    16-thread churn: the program's result is that of a plain run, it
#    exits 0, and every snapshot written (NAME.snapshot-N.json, N from 1
#    up without a gap, with its .bin) is a complete report of trigger
#    "signal" numbered N; no temporary file is left.
# 2. A program that installs its own SIGUSR1 handler after start-up gets
#    every signal it raises; memscope's handler is replaced, so no snapshot
#    is written (docs/reliability.md). If its handler chains to the one it
#    replaced, each signal also writes a snapshot.
# 3. A handler installed before start-up (by a library of the program,
#    tests/data/rel_early.c) still gets every signal: memscope chains to
#    it, and writes a snapshot for each.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3 cc
ms_setup rel_signal
NSIG=${REL_SIGNALS:-500}
SECS=${REL_SIGNAL_SECONDS:-5}
P=$PROGS/rel_signal

# snapshots DIR NAME WANT: DIR holds NAME.snapshot-1..K (.json and .bin),
# K = WANT when WANT is a number, K >= 1 when it is "some"; each complete
# and numbered as named.
snapshots() {
    local dir=$1 name=$2 want=$3
    /usr/bin/python3 - "$dir" "$name" "$want" <<'PYEOF' || ms_fail "snapshots in $dir"
import json, os, re, sys
d, name, want = sys.argv[1:]
nums = sorted(int(m.group(1)) for f in os.listdir(d)
              for m in [re.fullmatch(re.escape(name) + r"\.snapshot-(\d+)\.json", f)] if m)
if want != "some" and len(nums) != int(want):
    sys.exit("%d snapshots, want %s" % (len(nums), want))
if want == "some" and not nums:
    sys.exit("no snapshot written")
if nums != list(range(1, len(nums) + 1)):
    sys.exit("snapshot numbers have gaps: %s" % nums[:20])
for n in nums:
    f = "%s/%s.snapshot-%d.json" % (d, name, n)
    r = json.load(open(f))
    if r["trigger"] != "signal" or r["snapshot"] != n:
        sys.exit("%s: trigger %r snapshot %r" % (f, r["trigger"], r["snapshot"]))
    if r["summary"]["heap_errors"] != 0:
        sys.exit("%s: heap errors in a clean program" % f)
    b = f[:-5] + ".bin"
    if not os.path.exists(b) or os.path.getsize(b) == 0:
        sys.exit("%s: no matching .bin" % f)
print("ok: %d complete snapshots, numbered 1..%d" % (len(nums), len(nums)))
PYEOF
}

# ---- 1. a storm of signals during a churn --------------------------------
run_churn() {   # TAG [env...]: starts the churn, signals it when TAG=pre
    local tag=$1
    shift
    rm -f "$TMP/$tag.ready" "$TMP/$tag.stop"
    ms_start $tag env "$@" "$P" churn 16 "$TMP/$tag.ready" "$TMP/$tag.stop"
    local n=0
    while [ ! -e "$TMP/$tag.ready" ]; do
        kill -0 $MS_PID 2>/dev/null || break
        [ $n -lt 300 ] || ms_fail "$tag: the churn did not start in 30 s"
        sleep 0.1
        n=$((n + 1))
    done
    if [ $tag = pre ]; then
        /usr/bin/python3 - $MS_PID "$NSIG" "$SECS" <<'PYEOF' || ms_fail "could not signal the program"
import os, signal, sys, time
pid, n, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
t0 = time.monotonic()
for i in range(n):
    delay = t0 + secs * i / n - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    try:
        os.kill(pid, signal.SIGUSR1)
    except ProcessLookupError:
        sys.exit("the program died after %d signals" % i)
print("sent %d SIGUSR1 in %.1f s" % (n, time.monotonic() - t0))
PYEOF
    fi
    touch "$TMP/$tag.stop"
    ms_wait $((SECS * 6 + 120)) $tag
    echo $MS_RC >"$TMP/$tag.rc"
}
mv_plain() {    # ms_compare reads TAG.plain.* and TAG.pre.*
    for f in out err rc; do mv "$TMP/$1.$f" "$TMP/churn.$1.$f"; done
}
run_churn plain
mv_plain plain
run_churn pre LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_NAME=sig \
    MEMSCOPE_OUT="$TMP/churn" MEMSCOPE_FORMATS=json,bin
mv_plain pre
ms_compare churn
snapshots "$TMP/churn" sig some
ms_reports_check --trigger exit "$TMP/churn/sig.json"
ms_no_tmp "$TMP/churn"

# ---- 2. a handler installed after start-up -------------------------------
N=20
ms_both own "$P" own $N
ms_compare own
grep -qx "own handler counted $N signals" "$TMP/own.pre.out" ||
    ms_fail "the program's own handler did not get all $N signals"
n=$(find "$MEMSCOPE_OUT" -name '*.snapshot-*' 2>/dev/null | wc -l)
[ "$n" = 0 ] || ms_fail "memscope's handler was replaced, yet $n snapshot files appeared"
echo "ok: a handler installed after start-up replaces memscope's: it gets all $N signals, no snapshot is written"

MEMSCOPE_OUT=$TMP/chain MEMSCOPE_NAME=chain REL_WAIT_SNAPSHOTS=$N ms_both chain "$P" own $N chain
ms_compare chain
grep -qx "own handler counted $N signals" "$TMP/chain.pre.out" ||
    ms_fail "the chaining handler did not get all $N signals"
snapshots "$TMP/chain" chain $N

# ---- 3. a handler installed before start-up ------------------------------
cc -shared -fPIC -O1 -g -o "$TMP/librel_early.so" "$REPO/tests/data/rel_early.c" -ldl
cc -std=gnu11 -O1 -g -D_GNU_SOURCE -pthread -o "$TMP/rel_signal_early" \
    "$REPO/tests/programs/rel_signal.c" \
    -Wl,--no-as-needed -L"$TMP" -lrel_early -Wl,--as-needed -Wl,-rpath,"$TMP" -ldl
export REL_EARLY_SIGUSR1=1
MEMSCOPE_OUT=$TMP/early MEMSCOPE_NAME=early REL_WAIT_SNAPSHOTS=$N \
    ms_both early "$TMP/rel_signal_early" early $N
ms_compare early
grep -q "already tracing" "$TMP/early.pre.err" &&
    ms_fail "the handler of rel_early.so was not installed before memscope started"
grep -qx "handler installed before start-up counted $N signals" "$TMP/early.pre.out" ||
    ms_fail "memscope did not chain every signal to the handler installed before it"
snapshots "$TMP/early" early $N
echo "ok: memscope chains to a handler installed before start-up"
