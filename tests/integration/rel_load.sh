#!/usr/bin/env bash
# rel_load.sh - load: 128 threads do random malloc/calloc/realloc/
# aligned_alloc/posix_memalign/free, handing blocks to each other through
# shared slots (cross-thread frees and reallocs), for REL_LOAD_SECONDS
# (3 s; 30 s in make stress), in exact and in sampled mode, while two
# other threads each export the JSON report every 200 ms. It must not
# crash, hang or corrupt a block (tests/programs/rel_load.c checks every
# block's contents), and the counts the library exports must equal the
# program's own: the deltas between a report written just before the
# workload and one just after (nothing else allocates in between) are its
# allocations, frees, reallocs and, in exact mode, bytes; after main frees
# the blocks left in the slots, live blocks (and bytes) are back where
# they were.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup rel_load
SECS=${REL_LOAD_SECONDS:-3}
THREADS=${REL_LOAD_THREADS:-128}
LIMIT=$((SECS * 4 + 60))

for mode in exact sampled; do
    sample=0
    [ $mode = sampled ] && sample=64k
    mkdir -p "$TMP/$mode"
    ms_timed $LIMIT $mode env LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_SAMPLE=$sample \
        MEMSCOPE_NAME=load MEMSCOPE_OUT="$TMP/$mode/reports" \
        "$PROGS/rel_load" "$SECS" "$THREADS" "$TMP/$mode"
    ms_status_is $mode 0
    grep '^seconds' "$TMP/$mode.out" | sed "s/^/$mode: /"
    /usr/bin/python3 - "$TMP/$mode" "$mode" <<'PYEOF' || ms_fail "$mode: the exported counts are not the program's"
import json, sys
d, mode = sys.argv[1], sys.argv[2]
own = {}
for line in open(d + ".out"):
    w = line.split()
    if w[0] == "count":
        own[w[1]] = int(w[2])
rep = {k: json.load(open("%s/%s.json" % (d, k)))["summary"] for k in "abc"}
def delta(x, y, f):
    return rep[y][f] - rep[x][f]
checks = [("allocs", delta("a", "b", "allocs"), own["allocs"]),
          ("frees", delta("a", "b", "frees"), own["frees"]),
          ("reallocs", delta("a", "b", "reallocs"), own["reallocs"]),
          ("live_blocks", delta("a", "b", "live_blocks"), own["left_blocks"]),
          ("frees by main", delta("b", "c", "frees"), own["main_frees"]),
          ("allocs while main frees", delta("b", "c", "allocs"), 0),
          ("live_blocks at the end", delta("a", "c", "live_blocks"), 0)]
if mode == "exact":
    checks += [("bytes_allocated", delta("a", "b", "bytes_allocated"), own["bytes_allocated"]),
               ("bytes_freed", delta("a", "b", "bytes_freed"), own["bytes_freed"]),
               ("live_bytes", delta("a", "b", "live_bytes"), own["left_bytes"]),
               ("bytes freed by main", delta("b", "c", "bytes_freed"), own["main_bytes_freed"]),
               ("live_bytes at the end", delta("a", "c", "live_bytes"), 0)]
bad = 0
for name, got, want in checks:
    if got != want:
        print("%s: %s: the reports say %d, the program counted %d" % (mode, name, got, want))
        bad = 1
for k in "abc":
    s = rep[k]
    for f in ("dropped_events", "untracked_frees", "heap_errors"):
        if s[f] != 0:
            print("%s: %s.json: %s is %d, want 0" % (mode, k, f, s[f]))
            bad = 1
if not bad:
    print("ok: %s: exported deltas equal the program's counts (%d allocs, %d frees, %d reallocs%s)"
          % (mode, own["allocs"], own["frees"], own["reallocs"],
             ", %d bytes" % own["bytes_allocated"] if mode == "exact" else ""))
sys.exit(bad)
PYEOF
    # the reports written under load, and the exit report
    mids=("$TMP/$mode"/mid-*.json)
    [ -e "${mids[0]}" ] || ms_fail "$mode: no report was exported during the workload"
    ms_reports_check --mode $mode --trigger api "${mids[@]}"
    ms_reports_check --mode $mode --trigger exit "$TMP/$mode/reports/load.json"
    ms_no_tmp "$TMP/$mode"
done
