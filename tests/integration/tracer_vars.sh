#!/usr/bin/env bash
# tracer_vars.sh - named blocks at exit (tests/programs/tracer_vars.c):
# "kept" (never freed) and "handed" (owned, transferred, never freed) are
# "live" / "transferred" in a report taken during the run and "leaked" in
# the exit report; "gone" (freed) is "freed" in both. Only the exit report
# says "leaked", and its leaks[] name the leaked variables.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup tracer_vars

export MEMSCOPE_SAMPLE=0 MEMSCOPE_FORMATS=json MEMSCOPE_NAME=vars
ms_run pre vars "$PROGS/tracer_vars" "$TMP/during.json"
[ "$(cat "$TMP/vars.pre.rc")" = 0 ] ||
    ms_fail "exit status $(cat "$TMP/vars.pre.rc"): $(cat "$TMP/vars.pre.out" "$TMP/vars.pre.err" | head -5)"
[ ! -s "$TMP/vars.pre.err" ] || ms_fail "stderr: $(head -3 "$TMP/vars.pre.err")"

/usr/bin/python3 - "$TMP/during.json" "$TMP/reports/vars.json" <<'PY'
import json, sys
during, final = (json.load(open(p)) for p in sys.argv[1:3])
fails = []
want = {"during": {"kept": "live", "gone": "freed", "handed": "transferred"},
        "exit": {"kept": "leaked", "gone": "freed", "handed": "leaked"}}
for label, r in (("during", during), ("exit", final)):
    got = {v["name"]: v["status"] for v in r["variables"]}
    if got != want[label]:
        fails.append(f"{label}: statuses {got}, expected {want[label]}")
    named = sorted(n for l in r["leaks"] for n in l["variables"])
    if named != ["handed", "kept"]:
        fails.append(f"{label}: leaks[].variables name {named}, expected handed and kept")
    h = [v for v in r["variables"] if v["name"] == "handed"]
    if h and [o["owner"] for o in h[0]["owners"]] != ["main", "consumer"]:
        fails.append(f"{label}: owners of handed {[o['owner'] for o in h[0]['owners']]}")
if "leaked" in json.dumps(during["variables"]):
    fails.append("a report taken during the run says leaked")
if fails:
    print("FAIL:\n  " + "\n  ".join(fails), file=sys.stderr)
    sys.exit(1)
print("ok: kept and handed are leaked at exit only, gone is freed")
PY
