#!/usr/bin/env bash
# bench_smoke.sh - `make bench QUICK=1 SMOKE=1` works: it runs every
# workload under every configuration once, and writes latest.md and
# latest.json with a sane figure in every cell (numbers that parse, no NaN
# or infinity, a JSON report for each tracing run) and an export table.
# It asserts nothing about time: the figures of a smoke run mean nothing,
# and this machine is shared. The results go to a temp dir (BENCH_OUT), so
# the real bench/results/latest.* stay as they are.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need make /usr/bin/python3
ms_setup bench_smoke
OUT=$TMP/results

# The bench is a make target of the repository; a make above us (make
# check) must not lend it its job server.
if ! (cd "$REPO" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
        make --no-print-directory bench QUICK=1 SMOKE=1 BENCH_OUT="$OUT") \
        >"$TMP/bench.out" 2>"$TMP/bench.err"; then
    tail -n 40 "$TMP/bench.err" >&2
    ms_fail "make bench QUICK=1 SMOKE=1 failed"
fi
[ -s "$OUT/latest.md" ] || ms_fail "no $OUT/latest.md"
[ -s "$OUT/latest.json" ] || ms_fail "no $OUT/latest.json"
grep -qF "# memscope benchmark" "$TMP/bench.out" ||
    ms_fail "make bench printed no report on stdout"

# Every workload x configuration: expected names are listed here, not
# taken from the file under test. heaptrack, python3 and sqlite3 may be
# reported absent only when they are not installed.
cores=$(nproc)
/usr/bin/python3 - "$OUT" "$cores" <<'EOF'
import json, math, os, sys

out, cores = sys.argv[1], int(sys.argv[2])
fail = []

def bad_constant(name):
    raise ValueError(f"latest.json holds {name}")

with open(os.path.join(out, "latest.json")) as f:
    res = json.load(f, parse_constant=bad_constant)
with open(os.path.join(out, "latest.md")) as f:
    md = f.read()

workloads = [f"churn-{t}t" for t in sorted({1, 2, 2 * cores})] + [
    "xthread", "realloc", "mixed", "threads128", "python3", "sqlite3"]
configs = ["glibc", "jemalloc", "sampled", "exact1", "exact", "heaptrack"]
micro = {w for w in workloads if w not in ("python3", "sqlite3")}
may_be_absent = {"heaptrack": "/usr/bin/heaptrack", "python3": "/usr/bin/python3",
                 "sqlite3": "/usr/bin/sqlite3"}

def number(x, positive=True):
    ok = isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
    return ok and (x > 0 if positive else x >= 0)

labels = {c["id"]: c["label"] for c in res.get("configs", [])}
wlabels = {w["id"]: w["label"] for w in res.get("workloads", [])}
for c in configs:
    if c not in labels:
        fail.append(f"configuration {c} missing from latest.json")
for w in workloads:
    if w not in wlabels:
        fail.append(f"workload {w} missing from latest.json")
        continue
    if wlabels[w] not in md:
        fail.append(f"workload {w} ({wlabels[w]}) missing from latest.md")
    for c in configs:
        cell = res.get("cells", {}).get(w, {}).get(c)
        where = f"{w} x {c}"
        if cell is None:
            fail.append(f"{where}: no cell")
            continue
        if cell.get("status") == "absent":
            tool = may_be_absent.get(c) or may_be_absent.get(w)
            if tool is None or os.access(tool, os.X_OK):
                fail.append(f"{where}: reported absent, but {tool or 'it'} is installed")
            continue
        if cell.get("status") != "ok" or not cell.get("ok_runs"):
            fail.append(f"{where}: status {cell.get('status')!r}")
            continue
        for k in ("wall_median_s", "wall_min_s", "wall_max_s", "ratio", "maxrss_median_kb"):
            if not number(cell.get(k)):
                fail.append(f"{where}: {k} = {cell.get(k)!r}")
        for k in ("cpu_median_s", "cpu_ratio"):     # may be absent: too short to count
            if cell.get(k) is not None and not number(cell.get(k), positive=False):
                fail.append(f"{where}: {k} = {cell.get(k)!r}")
        if w in micro:
            for k in ("pairs", "wall_ns_per_pair", "cpu_ns_per_pair", "mpairs_per_s", "phase_ratio"):
                if not number(cell.get(k)):
                    fail.append(f"{where}: {k} = {cell.get(k)!r}")
        if c in ("sampled", "exact1", "exact"):
            rep = cell.get("report")
            if not rep:
                fail.append(f"{where}: no JSON report read ({cell.get('report_error')})")
            else:
                for k in ("allocs", "frees", "live_blocks", "threads",
                          "tracer_overhead_bytes", "table_bytes", "tracked_blocks"):
                    if not number(rep.get(k), positive=False):
                        fail.append(f"{where}: report {k} = {rep.get(k)!r}")
    if res.get("cells", {}).get(w, {}).get("jemalloc", {}).get("ratio") not in (1, 1.0):
        fail.append(f"{w}: jemalloc's ratio to itself is not 1")

for c in configs:
    if labels.get(c) and labels[c] not in md:
        fail.append(f"configuration {c} ({labels[c]}) missing from latest.md")
for word in ("nan", "NaN", "inf |", "Infinity"):
    if word in md:
        fail.append(f"latest.md contains {word!r}")

ex = res.get("export") or []
if not ex:
    fail.append("no export figures")
for e in ex:
    if e.get("status") != "ok":
        fail.append(f"export of {e.get('live_blocks')} blocks: {e.get('status')}")
        continue
    fmts = e.get("formats", {})
    for f in ("bin", "json", "html", "md"):
        item = fmts.get(f)
        if item is None:
            fail.append(f"export of {e['live_blocks']} blocks: no figure for {f}")
        elif item.get("built"):
            if not number(item.get("s_median")) or not number(item.get("bytes")):
                fail.append(f"export {f}: {item!r}")
        elif item.get("built") is False:
            if "not built" not in md:
                fail.append(f"export {f} not built, but latest.md does not say so")
        else:
            fail.append(f"export {f}: the library returned {item.get('rc')}")
    if not (e.get("report") or {}).get("tracked_blocks"):
        fail.append(f"export of {e['live_blocks']} blocks: no memory figures")
if "## Targets" not in md:
    fail.append("latest.md has no targets table")

if fail:
    print("\n".join("FAIL: " + f for f in fail), file=sys.stderr)
    sys.exit(1)
print(f"ok: {len(workloads)} workloads x {len(configs)} configurations, "
      f"{len(ex)} export size(s), all figures parse")
EOF
