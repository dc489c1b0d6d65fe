#!/usr/bin/env bash
# unwind_python.sh - the real python3 (PYTHONMALLOC=malloc: every object
# through malloc) on a JSON workload (bench/py_json.py), at the default
# stack depth: at least 95% of the bytes allocated, and of the
# allocations, have a stack that reaches main, that is, one that holds
# __libc_start_call_main, main's caller (python3's own main may have no
# symbol), and none is cut. Where heaptrack is installed and records the
# run, its share of allocations reaching main is compared: memscope's is
# within 2 points of it or above.
set -euo pipefail
. "$(dirname "$0")/common.bash"

PY=/usr/bin/python3
ms_need "$PY"
ms_setup unwind_python

export PYTHONMALLOC=malloc PYTHONHASHSEED=0
MEMSCOPE_FORMATS=json MEMSCOPE_NAME=py ms_both py "$PY" "$REPO/bench/py_json.py" 3000 1
ms_compare py

ht=none
if [ -x /usr/bin/heaptrack ] && [ -x /usr/bin/heaptrack_print ]; then
    /usr/bin/heaptrack -o "$TMP/ht" "$PY" "$REPO/bench/py_json.py" 3000 1 >/dev/null 2>&1 || true
    f=$(ls "$TMP"/ht*.zst 2>/dev/null | head -1 || true)
    if [ -n "$f" ] && /usr/bin/heaptrack_print -f "$f" --flamegraph-cost-type allocations \
        -F "$TMP/ht.folded" >/dev/null 2>&1; then
        ht=$TMP/ht.folded
    fi
fi

PYTHONPATH=$REPO/tests/data "$PY" - "$TMP/reports/py.json" "$ht" <<'EOF'
import msjson, sys
r = msjson.load(sys.argv[1])
fails = []
tot_b = main_b = tot_a = main_a = 0
cut = 0
for s in r["sites"]:
    names = [(f or {}).get("function") for f in s["frames"]]
    whole = "__libc_start_call_main" in names or "main" in names
    tot_b += s["bytes"]; tot_a += s["allocs"]
    if whole:
        main_b += s["bytes"]; main_a += s["allocs"]
    if "[cut]" in names:
        cut += s["allocs"]
share_b, share_a = 100.0 * main_b / tot_b, 100.0 * main_a / tot_a
print(f"ok: memscope: {tot_a} allocations, {share_b:.2f}% of bytes and {share_a:.2f}% "
      f"of allocations reach main; {cut} allocations on cut stacks")
if share_b < 95 or share_a < 95:
    fails.append(f"only {share_b:.2f}% of bytes, {share_a:.2f}% of allocations reach main")
if tot_a < 100000:
    fails.append(f"only {tot_a} allocations traced: is PYTHONMALLOC=malloc in effect?")
ht = sys.argv[2]
if ht == "none":
    print("heaptrack not installed or no trace: comparison not measured")
else:
    t = m = 0
    for line in open(ht):
        stack, _, v = line.rstrip("\n").rpartition(" ")
        v = int(v)
        t += v
        if any(x.split(" (")[0] in ("main", "__libc_start_call_main") for x in stack.split(";")):
            m += v
    if t < tot_a // 10:
        print(f"heaptrack recorded {t} allocations of the run's {tot_a}: comparison not measured")
    else:
        hs = 100.0 * m / t
        print(f"heaptrack: {t} allocations, {hs:.2f}% reach main")
        if share_a < hs - 2:
            fails.append(f"memscope's {share_a:.2f}% is more than 2 points below heaptrack's {hs:.2f}%")
if fails:
    print("FAIL:\n  " + "\n  ".join(fails), file=sys.stderr)
    sys.exit(1)
EOF
