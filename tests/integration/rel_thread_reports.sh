#!/usr/bin/env bash
# rel_thread_reports.sh - reports listed while threads start: two
# spawners start 3000 short threads (each makes and frees one block and
# ends) and two more make and free blocks without pause, while the main
# thread exports the JSON report over and over
# (tests/programs/rel_thread_reports.c), in exact and in sampled mode.
# Every report lists each thread once, oldest first (ids rising), none
# of them blank: a thread that registers while a report counts the
# threads must not be listed past the end of what was counted (it was,
# before: a crash in rel_load once, zeroed rows here in a quarter of the
# reports). No site frees more blocks than it made (every block here is
# freed by the thread that made it), and its live blocks are what that
# leaves: a site read while its thread frees must not read its frees
# newer than its allocations (before: one report in ten showed a site
# with 2^64 - 4 live blocks). The last report, made after every thread
# was joined, lists them all: main, the four others and the 3000.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup rel_thread_reports
P=$(ms_prog rel_thread_reports)
N=3000

for mode in exact sampled; do
    sample=0
    [ $mode = sampled ] && sample=64k
    d=$TMP/$mode
    mkdir -p "$d/out"
    ms_timed 120 $mode env LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_SAMPLE=$sample \
        MEMSCOPE_NAME=exit MEMSCOPE_OUT="$d/out" MEMSCOPE_FORMATS=json \
        "$P" $N 400 "$d"
    ms_status_is $mode 0
    /usr/bin/python3 - "$d" "$TMP/$mode.out" $N $mode <<'PYEOF' || ms_fail "$mode: a report lists its threads or sites wrong"
import glob, json, sys
d, out, n, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
own = dict(line.split() for line in open(out))
assert int(own["threads"]) == n, own
mids = glob.glob(d + "/r-*.json")
bad = []
for f in mids + [d + "/end.json"]:
    th = json.load(open(f))["threads"]
    ids = [t["id"] for t in th]
    if any(b <= a for a, b in zip(ids, ids[1:])) or \
            any(t["tid"] <= 0 or not t["name"] for t in th):
        bad.append("%s: %d threads, the last ids %s" % (f, len(th), ids[-4:]))
    if mode == "exact":
        for s in json.load(open(f))["sites"]:
            if s["frees"] > s["allocs"] or \
                    s["live_blocks"] != s["allocs"] - s["frees"]:
                bad.append("%s: site %d: %d allocs, %d frees, %d live" %
                           (f, s["id"], s["allocs"], s["frees"], s["live_blocks"]))
end = json.load(open(d + "/end.json"))["threads"]
if len(end) != n + 5 or sum(t["exited"] for t in end) != n + 4:
    bad.append("end.json: %d threads (%d exited), want %d (%d)" %
               (len(end), sum(t["exited"] for t in end), n + 5, n + 4))
if len(mids) < 10:
    bad.append("only %d reports made while threads started" % len(mids))
for b in bad[:10]:
    print("%s: %s" % (mode, b))
if not bad:
    print("ok: %s: %d reports made while %d threads started, each lists its "
          "threads once; the last lists all %d" % (mode, len(mids), n, n + 5))
sys.exit(1 if bad else 0)
PYEOF
    ms_reports_check --mode $mode --trigger exit "$d/out/exit.json"
done
