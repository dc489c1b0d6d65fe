#!/usr/bin/env bash
# rel_late_frees.sh - key destructors that run after the library's own
# (tests/programs/rel_late_frees.c): 32 threads in 4 rounds, whose
# destructors (two rounds of them) make, resize and free blocks of other
# threads, live or ended, after the library froze their counters (their
# thread-local storage is going). The program ends with no block of its
# own live; each report's live blocks and bytes are those of the few
# blocks libc keeps (a few KB), in exact mode and sampled at 64k and at 1
# byte. Before: sampled live_bytes 15.7 MB (64k) and 87 MB (1), since a
# frozen thread's free of another thread's block, or realloc of one, was
# counted twice or not at all. The timeline's last point (taken at exit)
# shows the same live bytes as the summary: it sums the ended threads'
# once, at their end, and keeps that sum through their destructors' later
# frees; the summary reads each thread's counters.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup rel_late_frees
P=$(ms_prog rel_late_frees)

for sample in 0 64k 1; do
    d=$TMP/s$sample
    mkdir -p "$d"
    ms_timed 120 s$sample env LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_SAMPLE=$sample \
        MEMSCOPE_NAME=late MEMSCOPE_OUT="$d" MEMSCOPE_FORMATS=json "$P" 4
    ms_status_is s$sample 0
    ms_reports_check --mode $([ $sample = 0 ] && echo exact || echo sampled) \
        --trigger exit "$d/late.json"
    /usr/bin/python3 - "$d/late.json" $sample <<'PYEOF' || ms_fail "sample $sample: live figures wrong"
import json, sys
j = json.load(open(sys.argv[1]))
s = j["summary"]
sample = sys.argv[2]
limit = 16 << 10 if sample == "0" else 64 << 10
bad = []
if not 0 <= s["live_blocks"] <= 16:
    bad.append("%d live blocks" % s["live_blocks"])
if not 0 <= s["live_bytes"] <= limit:
    bad.append("%d live bytes (at most %d)" % (s["live_bytes"], limit))
for f in ("heap_errors", "untracked_frees", "dropped_events"):
    if s[f] != 0:
        bad.append("%s %d" % (f, s[f]))
tl = j["timeline"]
pts = tl["points"]
if not pts:
    bad.append("no timeline point")
elif pts[-1][tl["columns"].index("heap_live")] != s["live_bytes"]:
    bad.append("timeline's last point: %d live bytes, summary %d" %
               (pts[-1][tl["columns"].index("heap_live")], s["live_bytes"]))
if s["allocs"] < 80000:
    bad.append("only %d allocations" % s["allocs"])
for b in bad:
    print("sample %s: %s" % (sample, b))
if not bad:
    print("ok: sample %s: %d allocations, %d live blocks, %d live bytes" %
          (sample, s["allocs"], s["live_blocks"], s["live_bytes"]))
sys.exit(1 if bad else 0)
PYEOF
done
