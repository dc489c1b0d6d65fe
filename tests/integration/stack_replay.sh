#!/usr/bin/env bash
# stack_replay.sh - a call site reached through different paths from the
# same frame (tests/programs/stack_replay.c), alternately: the tracer
# reuses a stack walk only when every stack word it read reads the same
# again, so each path keeps its own stack and figures:
#  - exact mode, default depth: leaf;path_a;main 600 blocks of 10 bytes,
#    leaf;path_b;main 400 of 20, leaf;mid;outer_c;main 625 of 30,
#    leaf;mid;outer_d;main 375 of 40, and each of leaf_x and leaf_y
#    (malloc calls of their own, called from one call site in mid2, in
#    one frame) under outer_e 250 of 50 and
#    under outer_f 250 of 60 (a walk taking the rest of another at mid2
#    must see outer_e and outer_f differ), leaf;path_gN;main (N 0..9,
#    with path_a and path_b more walks from one start than it keeps)
#    100 of 100+N, in the JSON and in the
#    allocated folded stacks (memscope report --metric allocated);
#  - exact mode, MEMSCOPE_STACK_DEPTH=4: the same counts on stacks cut at
#    4 frames, [truncated] after them (c and d, e and f still differ);
#  - sampled mode (MEMSCOPE_SAMPLE=8): every sampled block of a site has
#    that site's path's size, and each path has sampled blocks;
#  - the program saw one frame address on both paths of each pair
#    (else the test proves nothing);
#  - 200 short threads, one after another (tests/programs/replay_threads.c):
#    each thread's blocks under thread_leaf;thread_body, and those of a
#    pthread_key destructor run after the library's exit handler under
#    key_leaf;key_done, in exact mode; the walks each thread kept for
#    replay given back at its exit: the tracer's bytes over all threads
#    under 100 KB a thread (were 233 KB, 173 KB of them the replay cache).
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup stack_replay
[ -x "$MEMSCOPE_TOOL" ] || ms_fail "$MEMSCOPE_TOOL not built (run make)"

export MEMSCOPE_FORMATS=json,bin
unset MEMSCOPE_STACK_DEPTH
MEMSCOPE_SAMPLE=0 MEMSCOPE_NAME=exact ms_both exact "$PROGS/stack_replay"
ms_compare exact stderr
MEMSCOPE_STACK_DEPTH=4 MEMSCOPE_SAMPLE=0 MEMSCOPE_NAME=depth4 ms_both depth4 "$PROGS/stack_replay"
ms_compare depth4 stderr
MEMSCOPE_SAMPLE=8 MEMSCOPE_NAME=sampled ms_both sampled "$PROGS/stack_replay"
ms_compare sampled stderr
grep -q "a/b same, c/d same, e/f same" "$TMP/exact.pre.out" ||
    ms_fail "a frame moved between paths, the test proves nothing: $(cat "$TMP/exact.pre.out")"
"$MEMSCOPE_TOOL" report "$TMP/reports/exact.bin" --format folded --metric allocated \
    >"$TMP/exact.alloc.folded" || ms_fail "memscope report exact.bin --format folded failed"

PYTHONPATH=$REPO/tests/data /usr/bin/python3 - "$TMP/reports" "$TMP/exact.alloc.folded" <<'EOF2'
import msjson, re, sys
out, folded = sys.argv[1], sys.argv[2]
want = {("leaf", "path_a", "main"): (600, 10),
        ("leaf", "path_b", "main"): (400, 20),
        ("leaf", "mid", "outer_c", "main"): (625, 30),
        ("leaf", "mid", "outer_d", "main"): (375, 40),
        ("leaf_x", "mid2", "outer_e", "main"): (250, 50),
        ("leaf_y", "mid2", "outer_e", "main"): (250, 50),
        ("leaf_x", "mid2", "outer_f", "main"): (250, 60),
        ("leaf_y", "mid2", "outer_f", "main"): (250, 60)}
for g in range(10):
    want[("leaf", f"path_g{g}", "main")] = (100, 100 + g)
fails = []

def base(name):
    return None if name is None else re.sub(r"\.(constprop|isra|part|cold)\.\d+$", "", name)

def leaf_sites(tag):
    r = msjson.load(f"{out}/{tag}.json")
    for s in r["sites"]:
        names = [base((f or {}).get("function")) for f in s["frames"]]
        if names and names[0] in ("leaf", "leaf_x", "leaf_y"):
            yield names, s

for tag, depth in (("exact", 64), ("depth4", 4)):
    got = {}
    for names, s in leaf_sites(tag):
        if depth == 4:
            if len(names) != 5 or names[4] != "[truncated]":
                fails.append(f"{tag}: not cut after 4 frames: {names}")
            key = next((k for k in want if list(k[:4]) == names[:len(k[:4])]), None)
        else:
            key = next((k for k in want if list(k) == names[:len(k)]), None)
        if key is None:
            fails.append(f"{tag}: a stack of no path: {names} ({s['allocs']} blocks)")
            continue
        a, b = got.get(key, (0, 0))
        got[key] = (a + s["allocs"], b + s["bytes"])
    for key, (n, size) in want.items():
        if got.get(key) != (n, n * size):
            fails.append(f"{tag}: {';'.join(reversed(key))}: (blocks, bytes) {got.get(key)}, expected {(n, n * size)}")
    if not any(f.startswith(tag + ":") for f in fails):
        print(f"ok: {tag}: each path's blocks under its own stack: " +
              ", ".join(f"{';'.join(reversed(k[:-1]))} {v[0]}" for k, v in got.items()))

lines = {}
for line in open(folded):
    stack, _, v = line.rstrip("\n").rpartition(" ")
    lines[stack] = lines.get(stack, 0) + int(v)
for key, (n, size) in want.items():
    tail = [x for x in reversed(key)]
    got = sum(v for k, v in lines.items() if [base(x) for x in k.split(";")][-len(tail):] == tail)
    if got != n * size:
        fails.append(f"folded: {';'.join(tail)} {got} bytes, expected {n * size}")
if not any(f.startswith("folded") for f in fails):
    print("ok: allocated folded stacks: each path's bytes under its own stack")

seen = set()
for names, s in leaf_sites("sampled"):
    key = next((k for k in want if list(k) == names[:len(k)]), None)
    if key is None:
        fails.append(f"sampled: a stack of no path: {names}")
        continue
    n, b = s["sampled_allocs"], s["sampled_bytes"]
    if n and b != n * want[key][1]:
        fails.append(f"sampled: {';'.join(reversed(key))}: {n} sampled blocks of {b} bytes, not of {want[key][1]} each")
    if n:
        seen.add(key)
if seen != set(want):
    fails.append(f"sampled: paths with sampled blocks: {sorted(seen)}")
else:
    print("ok: sampled: every sampled block under its own path's stack")
if fails:
    print("FAIL:\n  " + "\n  ".join(fails), file=sys.stderr)
    sys.exit(1)
EOF2

MEMSCOPE_SAMPLE=0 MEMSCOPE_NAME=threads ms_both threads "$PROGS/replay_threads"
ms_compare threads stderr
PYTHONPATH=$REPO/tests/data /usr/bin/python3 - "$TMP/reports/threads.json" <<'EOF3'
import msjson, sys
r = msjson.load(sys.argv[1])
fails = []
def chain(s):
    return [(f or {}).get("function") for f in s["frames"]]
got = {"thread_leaf": 0, "key_leaf": 0}
for s in r["sites"]:
    c = chain(s)
    if c and c[0] in got:
        up = "thread_body" if c[0] == "thread_leaf" else "key_done"
        if len(c) < 2 or c[1] != up or c[-1] in ("[cut]", "[truncated]"):
            fails.append(f"{c[0]}: stack not whole: {c}")
        got[c[0]] += s["allocs"]
if got != {"thread_leaf": 200 * 16, "key_leaf": 200}:
    fails.append(f"allocations by leaf {got}, expected thread_leaf 3200, key_leaf 200")
sm = r["summary"]
ov, n = sm["tracer_overhead_bytes"], sm["threads"]
if n < 201 or ov / n >= 100 * 1024:
    fails.append(f"tracer bytes {ov} over {n} threads: {ov / max(n, 1) / 1024:.0f} KB a thread, expected < 100 KB")
else:
    print(f"ok: threads: whole stacks, {ov / n / 1024:.0f} KB of tracer a thread over {n} threads")
if fails:
    print("FAIL:\n  " + "\n  ".join(fails), file=sys.stderr)
    sys.exit(1)
EOF3
