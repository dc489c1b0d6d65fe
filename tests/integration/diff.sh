#!/usr/bin/env bash
# diff.sh - `memscope diff`: between two snapshots of one process that keeps
# adding nodes to a list, the node's site comes first with the growth of
# its live bytes (markdown and JSON agree with the two reports); a report
# against itself shows no change; two runs whose site ids all differ by one
# match by frames, not ids, so only the extra site shows.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need python3
[ -x "$MEMSCOPE_TOOL" ] || ms_fail "$MEMSCOPE_TOOL not built (run make)"
WL=$(ms_prog ms_workload)
ms_setup diff
T=$MEMSCOPE_TOOL
OUT=$TMP/out

# Two snapshots of a growing process.
LD_PRELOAD=$MEMSCOPE_LIB MEMSCOPE_OUT=$OUT MEMSCOPE_NAME=grow MEMSCOPE_FORMATS=bin,json \
    MEMSCOPE_STACK_DEPTH=3 "$WL" serve 30 >"$TMP/serve.out" 2>"$TMP/serve.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$TMP"' EXIT
for _ in $(seq 500); do grep -qs ready "$TMP/serve.out" && break; sleep 0.02; done
grep -q ready "$TMP/serve.out" || ms_fail "the serving workload did not start"
snap() {
    local before=$1
    kill -USR1 $pid
    for _ in $(seq 500); do
        [ -e "$OUT/grow.snapshot-$before.json" ] && return 0
        sleep 0.02
    done
    ms_fail "no snapshot $before"
}
snap 1
sleep 0.4
snap 2
kill -TERM $pid
wait $pid || ms_fail "the serving workload exited $?"
A=$OUT/grow.snapshot-1.bin
B=$OUT/grow.snapshot-2.bin

"$T" diff "$A" "$B" >"$TMP/diff.md" 2>"$TMP/diff.err" || ms_fail "diff exited $?: $(cat "$TMP/diff.err")"
[ ! -s "$TMP/diff.err" ] || ms_fail "diff wrote to stderr: $(head -3 "$TMP/diff.err")"
first=$(sed -n '/^## Sites/,/^## Tasks/p' "$TMP/diff.md" | grep '^| [0-9-]' | head -1)
case $first in
*"wl\\_node (ms\\_workload.c:"*"phase\\_serve"*"main"*) ;;
*) cat "$TMP/diff.md" >&2; ms_fail "the first site of the diff is not the growing one: $first" ;;
esac
echo "ok: markdown: the growing site first: $first"

"$T" diff "$A" "$B" --format json -o "$TMP/diff.json" || ms_fail "diff --format json failed"
PYTHONPATH=$REPO/tests/data python3 - "$TMP/diff.json" "$OUT/grow.snapshot-1.json" "$OUT/grow.snapshot-2.json" <<'PY' || ms_fail "the JSON diff is wrong"
import json, msjson, sys
d = json.load(open(sys.argv[1]))
a, b = (msjson.load(p) for p in sys.argv[2:4])
assert d["format"] == "memscope-diff" and d["a"]["snapshot"] == 1 and d["b"]["snapshot"] == 2
top = d["sites"][0]
assert top["frames"][0]["function"] == "wl_node", top
def node_site(r):
    return [s for s in r["sites"] if s["frames"][0]["function"] == "wl_node"][0]
sa, sb = node_site(a), node_site(b)
assert top["a"]["live_bytes"] == sa["live_bytes"] and top["b"]["live_bytes"] == sb["live_bytes"], top
assert top["change"]["live_bytes"] == sb["live_bytes"] - sa["live_bytes"] > 0, top
assert top["change"]["allocs"] == sb["allocs"] - sa["allocs"] > 0, top
s = d["summary"]["live_bytes"]
assert s["a"] == a["summary"]["live_bytes"] and s["b"] == b["summary"]["live_bytes"]
assert s["change"] == s["b"] - s["a"] > 0
main = [t for t in d["threads"] if t["name"].startswith("main")][0]
assert main["change"]["live_bytes"] > 0, d["threads"]
print("ok: json: wl_node grew by %d bytes in %d allocations; the heap by %d bytes"
      % (top["change"]["live_bytes"], top["change"]["allocs"], s["change"]))
PY

# A report against itself: nothing changed.
"$T" diff "$A" "$A" >"$TMP/same.md" || ms_fail "diff A A failed"
for what in sites tasks threads; do
    grep -q "^No $what changed\.$" "$TMP/same.md" || ms_fail "diff A A shows $what changes"
done
echo "ok: a report against itself: no change"

# Matched by frames, not ids: run-shifted has one more site first, so every
# other site's id is one higher; only that site differs.
for mode in run run-shifted; do
    LD_PRELOAD=$MEMSCOPE_LIB MEMSCOPE_OUT=$OUT MEMSCOPE_NAME=$mode MEMSCOPE_FORMATS=bin \
        MEMSCOPE_TEST_MODE=1 MEMSCOPE_STACK_DEPTH=3 "$WL" $mode || ms_fail "$mode failed"
done
"$T" diff "$OUT/run.bin" "$OUT/run-shifted.bin" --format json -o "$TMP/shift.json" ||
    ms_fail "diff of two runs failed"
python3 - "$TMP/shift.json" <<'PY' || ms_fail "sites were not matched by their frames"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["sites"]) == 1, [s["frames"][0]["function"] for s in d["sites"]]
s = d["sites"][0]
assert s["a"] is None and [f["function"] for f in s["frames"]] == \
    ["wl_make_buffer", "phase_early", "main", "[truncated]"], s
print("ok: two runs: sites matched by frames despite other ids; only phase_early's differs")
PY
