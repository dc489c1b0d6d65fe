#!/usr/bin/env bash
# rel_owner_lookup.sh - frees of blocks whose owners ended, after many
# other threads came and went (tests/programs/rel_owner_lookup.c): 4
# producers end holding 3000 blocks each; 1500 short threads start and
# end; a key destructor that runs after the library's makes one more
# block; 1500 more short threads; then main frees all 12001. A free of
# another thread's block looks for its owner among the threads that run
# or ended holding blocks (not among all that ever ran: with 10000 ended
# threads such a free was 580 times slower), and then, for what that
# misses, among all: the destructor's block, made after its thread left
# that list. In exact and sampled mode: every block found and freed once,
# no heap error, no untracked free, none of the program's blocks left.
# The producers named themselves after their first block: the reports
# show that name, the one they had when they ended.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup rel_owner_lookup
P=$(ms_prog rel_owner_lookup)

for sample in 0 64k; do
    d=$TMP/s$sample
    mkdir -p "$d"
    ms_timed 120 s$sample env LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_SAMPLE=$sample \
        MEMSCOPE_NAME=owner MEMSCOPE_OUT="$d" MEMSCOPE_FORMATS=json "$P" 4 3000 1500
    ms_status_is s$sample 0
    grep -qx "freed 12001" "$TMP/s$sample.out" || ms_fail "s$sample: the program did not free its blocks"
    ms_reports_check --mode $([ $sample = 0 ] && echo exact || echo sampled) \
        --trigger exit "$d/owner.json"
    /usr/bin/python3 - "$d/owner.json" $sample <<'PYEOF' || ms_fail "sample $sample: owners or names wrong"
import json, sys
j = json.load(open(sys.argv[1]))
s, sample = j["summary"], sys.argv[2]
bad = []
for f in ("heap_errors", "untracked_frees", "dropped_events"):
    if s[f] != 0:
        bad.append("%s %d" % (f, s[f]))
if not 0 <= s["live_blocks"] <= 16:
    bad.append("%d live blocks" % s["live_blocks"])
if len(j["threads"]) != 3006:
    bad.append("%d threads, want 3006 (main, 4, 1500, 1, 1500)" % len(j["threads"]))
names = [t["name"] for t in j["threads"]]
if names.count("ms-producer") != 4:
    bad.append("%d threads named ms-producer, want 4" % names.count("ms-producer"))
if sample == "0" and s["allocs"] < 15000:
    bad.append("only %d allocations" % s["allocs"])
for b in bad:
    print("sample %s: %s" % (sample, b))
if not bad:
    print("ok: sample %s: %d threads, %d frees, %d live blocks" %
          (sample, len(j["threads"]), s["frees"], s["live_blocks"]))
sys.exit(1 if bad else 0)
PYEOF
done
