#!/usr/bin/env bash
# rel_xthread.sh - frees of another thread's blocks, in exact mode, at
# stack depth 1 and the default depth (tests/programs/rel_xthread.c): a
# producer that only allocates hands 200000 blocks to a consumer that
# frees them. The blocks' contents are intact at their free; a report the
# producer writes after the consumer is done and it has made 1000 blocks
# more (all of its own hooks allocations: none frees) counts every free
# (frees by the consumer, as many as it made before) and tracks only the
# 1000 (an owner that only allocates still takes its waiting frees back,
# so their memory goes back to the engine); the exit report's counts are
# the program's own, with no block left live and no heap error.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup rel_xthread
P=$(ms_prog rel_xthread)
N=200000

for depth in 1 64; do
    d=$TMP/d$depth
    mkdir -p "$d"
    ms_timed 120 depth$depth env LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_SAMPLE=0 \
        MEMSCOPE_STACK_DEPTH=$depth MEMSCOPE_NAME=end MEMSCOPE_OUT="$d" \
        MEMSCOPE_FORMATS=json "$P" $N "$d/mid"
    ms_status_is depth$depth 0
    cp "$TMP/depth$depth.out" "$d/own.txt"
    /usr/bin/python3 - "$d" $N $depth <<'PYEOF' || ms_fail "depth $depth: the reports are not the program's"
import json, sys
d, n, depth = sys.argv[1], int(sys.argv[2]), sys.argv[3]
own = {}
for line in open(d + "/own.txt"):
    w = line.split()
    if w and w[0] == "count":
        own[w[1]] = int(w[2])
mid = json.load(open(d + "/mid.json"))
end = json.load(open(d + "/end.json"))
bad = []
def check(what, got, want):
    if got != want:
        bad.append("%s: %s, want %s" % (what, got, want))
m, e = mid["summary"], end["summary"]
check("mid: frees by then (at least the consumer's)", m["frees"] >= n, True)
check("mid: tracked blocks (the producer's 1000, not the freed)",
      m["tracked_blocks"] <= 1000 + 64, True)
check("mid: live blocks (the 1000 and what the program had before)",
      m["live_blocks"] - 1000 < 64, True)
check("end: allocs at least the program's", e["allocs"] >= own["allocs"], True)
check("end: frees equal allocs less live", e["frees"], e["allocs"] - e["live_blocks"])
check("end: live blocks (the 1000 gone; stdio's buffer may come)",
      e["live_blocks"] - (m["live_blocks"] - 1000) < 8, True)
errs = end.get("heap_errors") or []
check("end: heap errors", len(errs), 0)
for b in bad:
    print("depth %s: %s" % (depth, b))
sys.exit(1 if bad else 0)
PYEOF
    echo "ok: depth $depth: every free counted, the freed blocks given back while the owner only allocates"
done
