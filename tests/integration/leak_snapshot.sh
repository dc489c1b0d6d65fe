#!/usr/bin/env bash
# leak_snapshot.sh - leak classes in a snapshot taken while threads run
# (tests/programs/leak_classes.c, tracer/leaks.c's scan of a copy of the
# process):
#  - memscope_export(..., MEMSCOPE_EXPORT_LEAKS) from the program, and
#    `memscope snapshot --leaks PID` while the program waits: every known
#    block lands in its class (as at exit: leak_classes.sh) in the JSON, the
#    markdown, the HTML's data block, the .bin (re-rendered to the same
#    JSON) and the folded stacks of --metric lost, while two threads
#    allocate and free without pause and a third keeps moving the only
#    pointer to its block between a global and its stack (a scan of memory
#    changing under it misses that block now and then; the copy never);
#  - a plain `memscope snapshot PID` does not class: not measured, with why.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup leak_snapshot
export MEMSCOPE_FORMATS=json,md,bin,html MEMSCOPE_TEST_MODE=0 MEMSCOPE_SIGNAL=USR1

# 1. from the program
MEMSCOPE_NAME=apirun LD_PRELOAD=$MEMSCOPE_LIB "$PROGS/leak_classes" api "$TMP/reports" \
    >api.out 2>api.err || ms_fail "leak_classes api exited $? ($(tail -1 api.err))"

# 2. from the tool, twice: with --leaks, then without
mkfifo in
MEMSCOPE_NAME=w LD_PRELOAD=$MEMSCOPE_LIB "$PROGS/leak_classes" wait <in >w.out 2>w.err &
pid=$!
exec 3>in
for _ in $(seq 100); do grep -q ready w.out 2>/dev/null && break; sleep 0.1; done
grep -q ready w.out || ms_fail "leak_classes wait did not get ready ($(tail -1 w.err))"
"$MEMSCOPE_TOOL" snapshot --leaks "$pid" -o "$TMP/reports" >snap1.path ||
    ms_fail "memscope snapshot --leaks failed"
"$MEMSCOPE_TOOL" snapshot "$pid" -o "$TMP/reports" >snap2.path ||
    ms_fail "memscope snapshot failed"
exec 3>&-
wait "$pid" || ms_fail "leak_classes wait exited $?"

for b in api w.snapshot-1; do
    "$MEMSCOPE_TOOL" report "$TMP/reports/$b.bin" --format json -o "$b.re.json"
    cmp -s "$b.re.json" "$TMP/reports/$b.json" ||
        ms_fail "memscope report of $b.bin differs from $b.json"
    "$MEMSCOPE_TOOL" report "$TMP/reports/$b.bin" --format folded --metric lost \
        -o "$b.lost"
done

PYTHONPATH=$REPO/tests/data:$REPO/tests/integration /usr/bin/python3 - "$TMP" <<'PY'
import msjson, sys
tmp = sys.argv[1]
sys.dont_write_bytecode = True     # nothing written into the checkout
from leaks import CLASSES, LOST, WANT, check, finish, html_data
WANT = dict(WANT, mover=("still_reachable", 1, 7777))
def ours(leak):
    for f in leak["frames"]:
        if f["function"] in WANT:
            return f["function"]
    return None

for base in ("api", "w.snapshot-1"):
    d = msjson.load(f"{tmp}/reports/{base}.json")
    check(f"{base} trigger", d["trigger"], "api" if base == "api" else "signal")
    check(f"{base} summary classes measured", d["summary"]["leak_classes"] is not None, True)
    data = html_data(f"{tmp}/reports/{base}.html")
    hsites = {x[0]: x for x in data["sites"]}
    md = open(f"{tmp}/reports/{base}.md").read()
    check(f"{base} markdown heading", "By reachability when this report was taken:" in md, True)
    seen = set()
    for l in d["leaks"]:
        f = ours(l)
        if f is None:
            continue
        seen.add(f)
        cls, blocks, nbytes = WANT[f]
        check(f"{base} {f} class", l["class"], cls)
        check(f"{base} {f} classes", {k: (v["blocks"], v["bytes"]) for k, v in l["classes"].items()},
              {k: (blocks, nbytes) if k == cls else (0, 0) for k in CLASSES})
        check(f"{base} {f} html", hsites[l["site"]][11],
              [[blocks, nbytes] if k == cls else [0, 0] for k in CLASSES])
        head = md.find(f"from `{f}`")
        line = md[head:md.find("```", head)] if head >= 0 else ""
        check(f"{base} markdown class of {f}",
              f"Class: {cls} {blocks} block{'s' if blocks > 1 else ''} ({nbytes} B" in line, True)
    check(f"{base} sites found", sorted(seen), sorted(WANT))
    lost = {}
    for line in open(f"{tmp}/{base}.lost"):
        stack, v = line.rsplit(" ", 1)
        leaf = stack.split(";")[-1]
        lost[leaf] = lost.get(leaf, 0) + int(v)
    check(f"{base} folded lost", {k: v for k, v in lost.items() if k in WANT}, LOST)

d = msjson.load(f"{tmp}/reports/w.snapshot-2.json")
check("plain snapshot: not measured", d["summary"]["leak_classes"], None)
md = open(f"{tmp}/reports/w.snapshot-2.md").read()
check("plain snapshot: markdown says why", "not measured (not asked for in this report" in md, True)
finish("ok: every block in its class in a snapshot while threads run, from the API and from memscope snapshot --leaks")
PY
