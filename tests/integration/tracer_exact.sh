#!/usr/bin/env bash
# tracer_exact.sh - exact mode counts a known pattern exactly
# (tests/programs/tracer_exact.c): 4 workers allocate, free, reallocate
# and free each other's blocks, leak 7 blocks each from
# leaky_function_for_test, and leave blocks that main frees once they exit.
#  - summary: after.json - before.json is exactly the pattern (allocs,
#    frees, reallocs, bytes_allocated, bytes_freed, live_blocks,
#    live_bytes);
#  - sites (at exit): each allocating function's site counts exactly, the
#    cross-thread frees and reallocs and the frees of an exited thread's
#    blocks included;
#  - leaks (mid-run and at exit): the 28 blocks, 28 x 4321 bytes, are
#    attributed to a site whose frames name leaky_function_for_test;
#  - threads (at exit): 5 threads, each worker's allocs, frees and bytes
#    exact;
#  - the program's stdout is the same without the library.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup tracer_exact

export MEMSCOPE_SAMPLE=0 MEMSCOPE_NAME=exact MEMSCOPE_FORMATS=json
ms_both exact "$PROGS/tracer_exact" "$TMP"
ms_compare exact stderr

PYTHONPATH=$REPO/tests/data /usr/bin/python3 - "$TMP" <<'EOF'
import msjson, sys
tmp = sys.argv[1]
T, N_LOCAL, N_CROSS, K, LEAK = 4, 1000, 500, 7, 4321
N_REALLOC, N_ORPHAN, ORPHAN = 100, 50, 640
local = lambda w: 100 + w
crossz = lambda w: 3000 + w
reallocz = lambda w: 20000 + w
prev = lambda w: (w + T - 1) % T
fails = []
def check(what, got, want):
    if got != want:
        fails.append(f"{what}: got {got}, expected {want}")

def load(path):
    try:
        return msjson.load(path)
    except Exception as e:
        sys.exit(f"FAIL: {path}: {e}")

before = load(f"{tmp}/before.json")
after = load(f"{tmp}/after.json")
final = load(f"{tmp}/reports/exact.json")
check("mode", final["mode"], "exact")

# the pattern, from the program's constants; worker w: a realloc is one
# allocation and one free
def worker_allocs(w):
    return N_LOCAL + N_CROSS + N_REALLOC + K + N_ORPHAN
def worker_frees(w):
    return N_LOCAL + N_CROSS + N_REALLOC
def worker_bytes(w):
    return (N_LOCAL * local(w) + N_CROSS * crossz(w) + N_REALLOC * reallocz(w)
            + K * LEAK + N_ORPHAN * ORPHAN)
def worker_freed(w):
    return N_LOCAL * local(w) + N_CROSS * crossz(prev(w)) + N_REALLOC * reallocz(w)
allocs = sum(map(worker_allocs, range(T)))
frees = sum(map(worker_frees, range(T)))
b_alloc = sum(map(worker_bytes, range(T)))
b_freed = sum(map(worker_freed, range(T)))
want = {"allocs": allocs, "frees": frees, "reallocs": T * N_REALLOC,
        "bytes_allocated": b_alloc, "bytes_freed": b_freed,
        "live_blocks": T * (K + N_ORPHAN), "live_bytes": T * (K * LEAK + N_ORPHAN * ORPHAN)}
for k, v in want.items():
    check(f"summary.{k} (after - before)", after["summary"][k] - before["summary"][k], v)

def names(frames):
    return [f["function"] for f in frames if f]

def sites_of(report, fn):
    return [s for s in report["sites"] if s["frames"] and s["frames"][0] and
            s["frames"][0]["function"] == fn]

for fn, n, size, freed in (
        ("local_alloc_for_test", T * N_LOCAL, sum(N_LOCAL * local(w) for w in range(T)), True),
        ("cross_alloc_for_test", T * N_CROSS, sum(N_CROSS * crossz(w) for w in range(T)), True),
        ("realloc_cross_for_test", T * N_REALLOC, sum(N_REALLOC * reallocz(w) for w in range(T)), True),
        ("orphan_alloc_for_test", T * N_ORPHAN, T * N_ORPHAN * ORPHAN, True),
        ("leaky_function_for_test", T * K, T * K * LEAK, False)):
    ss = sites_of(final, fn)
    if not ss:
        fails.append(f"no site whose innermost frame is {fn}")
        continue
    check(f"{fn}: site allocs", sum(s["allocs"] for s in ss), n)
    check(f"{fn}: site bytes", sum(s["bytes"] for s in ss), size)
    check(f"{fn}: site frees", sum(s["frees"] for s in ss), n if freed else 0)
    check(f"{fn}: site freed_bytes", sum(s["freed_bytes"] for s in ss), size if freed else 0)
    check(f"{fn}: site live_blocks", sum(s["live_blocks"] for s in ss), 0 if freed else n)

for label, rep in (("after.json", after), ("exit report", final)):
    leaks = [l for l in rep["leaks"] if "leaky_function_for_test" in names(l["frames"])]
    check(f"{label}: leaked blocks from leaky_function_for_test",
          sum(l["blocks"] for l in leaks), T * K)
    check(f"{label}: leaked bytes from leaky_function_for_test",
          sum(l["bytes"] for l in leaks), T * K * LEAK)
freed_fns = {"local_alloc_for_test", "cross_alloc_for_test", "realloc_cross_for_test"}
for label, rep in (("after.json", after), ("exit report", final)):
    others = [names(l["frames"]) for l in rep["leaks"] if set(names(l["frames"])) &
              (freed_fns | ({"orphan_alloc_for_test"} if rep is final else set()))]
    check(f"{label}: leaks from sites whose blocks were all freed", others, [])
orph = [l for l in after["leaks"] if "orphan_alloc_for_test" in names(l["frames"])]
check("after.json: live blocks from orphan_alloc_for_test",
      (sum(l["blocks"] for l in orph), sum(l["bytes"] for l in orph)),
      (T * N_ORPHAN, T * N_ORPHAN * ORPHAN))

threads = final["threads"]
check("threads in the exit report", len(threads), T + 1)
check("summary.threads", final["summary"]["threads"], len(threads))
want_workers = sorted((worker_allocs(w), worker_frees(w), N_REALLOC, worker_bytes(w),
                       worker_freed(w)) for w in range(T))
workers = sorted((t["allocs"], t["frees"], t["reallocs"], t["bytes_allocated"], t["bytes_freed"])
                 for t in threads if t["exited"])
check("workers' (allocs, frees, reallocs, bytes_allocated, bytes_freed)", workers, want_workers)
for t in threads:
    check(f"thread {t['id']}: live_bytes", t["live_bytes"], t["bytes_allocated"] - t["bytes_freed"])
check("sum of the threads' allocs", sum(t["allocs"] for t in threads), final["summary"]["allocs"])

if fails:
    print("FAIL:\n  " + "\n  ".join(fails), file=sys.stderr)
    sys.exit(1)
print(f"ok: exact counts: {allocs} allocs, {frees} frees, {T * K} leaked blocks "
      f"from leaky_function_for_test, {T + 1} threads")
EOF
