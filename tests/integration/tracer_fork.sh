#!/usr/bin/env bash
# tracer_fork.sh - reports of a forked child (tests/programs/tracer_fork.c),
# exact mode; the child leaks 123 blocks of 555 bytes from
# child_leaks_for_test, frees a block it inherited, and exits normally.
#  - with MEMSCOPE_NAME=forky: the parent's report is forky.json, the
#    child's forky-<child pid>.json; without it, tracer_fork-<pid>.json for
#    each; no other report;
#  - both are complete JSON with their own pid; the child's leaks hold
#    exactly its 123 blocks, the parent's none of them; the inherited block
#    freed in the child is freed in the child's report.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup tracer_fork

export MEMSCOPE_SAMPLE=0 MEMSCOPE_FORMATS=json MEMSCOPE_CHILDREN=fork
for mode in named unnamed; do
    if [ $mode = named ]; then
        export MEMSCOPE_NAME=forky
    else
        unset MEMSCOPE_NAME
    fi
    export MEMSCOPE_OUT=$TMP/reports-$mode
    ms_run pre $mode "$PROGS/tracer_fork"
    [ "$(cat "$TMP/$mode.pre.rc")" = 0 ] || ms_fail "$mode: exit status $(cat "$TMP/$mode.pre.rc")"
    [ ! -s "$TMP/$mode.pre.err" ] || ms_fail "$mode: stderr: $(head -3 "$TMP/$mode.pre.err")"
    read -r _ ppid _ cpid _ status <"$TMP/$mode.pre.out"
    [ "$status" = 0 ] || ms_fail "$mode: the child exited with $status"
    if [ $mode = named ]; then
        pbase=forky cbase=forky-$cpid
    else
        pbase=tracer_fork-$ppid cbase=tracer_fork-$cpid
    fi
    PYTHONPATH=$REPO/tests/data /usr/bin/python3 - "$MEMSCOPE_OUT" "$pbase" "$ppid" "$cbase" "$cpid" <<'PY'
import msjson, os, sys
out, pbase, ppid, cbase, cpid = sys.argv[1:6]
fails = []
files = sorted(os.listdir(out))
if files != sorted([f"{pbase}.json", f"{cbase}.json"]):
    fails.append(f"report files {files}, expected {pbase}.json and {cbase}.json")
def leaked(r, fn):
    ls = [l for l in r["leaks"] if fn in [(f or {}).get("function") for f in l["frames"]]]
    return sum(l["blocks"] for l in ls), sum(l["bytes"] for l in ls)
def site(r, fn):
    ss = [s for s in r["sites"] if s["frames"] and (s["frames"][0] or {}).get("function") == fn]
    return sum(s["allocs"] for s in ss), sum(s["frees"] for s in ss)
for who, base, pid in (("parent", pbase, ppid), ("child", cbase, cpid)):
    try:
        r = msjson.load(f"{out}/{base}.json")
    except Exception as e:
        fails.append(f"{who}: {base}.json is not complete JSON: {e}")
        continue
    if (r["pid"], r["program"], r["trigger"]) != (int(pid), "tracer_fork", "exit"):
        fails.append(f"{who}: pid {r['pid']}, program {r['program']}, trigger {r['trigger']}")
    want_leak = (123, 123 * 555) if who == "child" else (0, 0)
    if leaked(r, "child_leaks_for_test") != want_leak:
        fails.append(f"{who}: leaks from child_leaks_for_test {leaked(r, 'child_leaks_for_test')}, expected {want_leak}")
    if site(r, "parent_alloc_for_test") != (1, 1):
        fails.append(f"{who}: parent_alloc_for_test's site (allocs, frees) = {site(r, 'parent_alloc_for_test')}, expected (1, 1)")
if fails:
    print("FAIL:\n  " + "\n  ".join(fails), file=sys.stderr)
    sys.exit(1)
print(f"ok: reports {pbase}.json and {cbase}.json, complete, 123 leaked blocks in the child's")
PY
done
