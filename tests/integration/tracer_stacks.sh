#!/usr/bin/env bash
# tracer_stacks.sh - call stacks (tests/programs/tracer_stack.c: main ->
# stack_level1 -> stack_level2 -> stack_level3 -> malloc, with frame
# pointers and debug info):
#  - MEMSCOPE_STACK_DEPTH=8: the site of the 4242-byte block names
#    stack_level3, stack_level2, stack_level1 and main, innermost first,
#    each with file tracer_stack.c and the line of its call;
#    and the stack goes on to _start, where it ends, unmarked;
#  - MEMSCOPE_STACK_DEPTH=2 keeps the innermost 2 and marks the cut with a
#    last [truncated] frame; 1 keeps the call site alone, unmarked.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup tracer_stacks

SRC=$REPO/tests/programs/tracer_stack.c
lines=()
for k in 3 2 1 0; do
    l=$(grep -n "CALL-$k " "$SRC" | cut -d: -f1)
    [ -n "$l" ] || ms_fail "no CALL-$k marker in $SRC"
    lines+=("$l")
done

export MEMSCOPE_FORMATS=json
for depth in 8 2 1; do
    MEMSCOPE_STACK_DEPTH=$depth MEMSCOPE_NAME=depth$depth ms_both depth$depth "$PROGS/tracer_stack"
    ms_compare depth$depth stderr
done

PYTHONPATH=$REPO/tests/data /usr/bin/python3 - "$TMP/reports" "${lines[@]}" <<'EOF2'
import msjson, os, sys
out = sys.argv[1]
lines = [int(x) for x in sys.argv[2:6]]
chain = ["stack_level3", "stack_level2", "stack_level1", "main"]
fails = []
for depth, keep in ((8, 4), (2, 2), (1, 1)):
    r = msjson.load(f"{out}/depth{depth}.json")
    if r["stack_depth"] != depth:
        fails.append(f"depth {depth}: the report says stack_depth {r['stack_depth']}")
    sites = [s for s in r["sites"] if s["frames"] and s["frames"][0]
             and s["frames"][0]["function"] == "stack_level3"]
    if len(sites) != 1:
        fails.append(f"depth {depth}: {len(sites)} sites start in stack_level3, expected 1")
        continue
    s = sites[0]
    if (s["allocs"], s["bytes"]) != (1, 4242):
        fails.append(f"depth {depth}: the site has {s['allocs']} allocs, {s['bytes']} bytes; expected 1, 4242")
    frames = s["frames"]
    names = [(f or {}).get("function") for f in frames]
    if depth == 8 and (names[-1] != "_start" or "[truncated]" in names or "[cut]" in names):
        fails.append(f"depth 8: the stack does not end whole at _start: {names}")
    if depth == 2 and names[2:] != ["[truncated]"]:
        fails.append(f"depth 2: no [truncated] mark after 2 frames: {names}")
    if len([n for n in names if n not in ("[truncated]", "[cut]")]) > depth:
        fails.append(f"depth {depth}: {len(frames)} frames kept")
    got = [(f or {}).get("function") for f in frames[:keep]]
    if got != chain[:keep]:
        fails.append(f"depth {depth}: frames {got}, expected {chain[:keep]}")
        continue
    if depth == 1 and len(frames) != 1:
        fails.append(f"depth 1: {len(frames)} frames")
    if depth == 2 and len(frames) != 3:
        fails.append(f"depth 2: {len(frames)} frames")
    for f, line in zip(frames[:keep], lines):
        where = f"{os.path.basename(f.get('file') or '?')}:{f.get('line')}"
        if where != f"tracer_stack.c:{line}":
            fails.append(f"depth {depth}: {f['function']} at {where}, expected tracer_stack.c:{line}")
    print(f"ok: depth {depth}: " + " <- ".join(
        f"{f['function']} ({os.path.basename(f['file'] or '?')}:{f['line']})" for f in frames[:keep]))
if fails:
    print("FAIL:\n  " + "\n  ".join(fails), file=sys.stderr)
    sys.exit(1)
EOF2
