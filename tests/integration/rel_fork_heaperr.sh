#!/usr/bin/env bash
# rel_fork_heaperr.sh - fork 200 times (REL_FORKS_HEAPERR) while another
# thread records heap errors, with tests/programs/rel_fork_heaperr.c: every
# child records a heap error and writes its exit report within 30 s (a
# child that inherited the heap-error lock held would hang in it), and the
# whole run ends within its time limit. Each child's report is complete and
# holds its heap errors.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup rel_fork_heaperr
FORKS=${REL_FORKS_HEAPERR:-200}
out=$TMP/reports
ms_timed $((FORKS + 120)) run env LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_CHILDREN=fork MEMSCOPE_SAMPLE=0 \
    MEMSCOPE_TEST_MODE=1 MEMSCOPE_NAME=fh MEMSCOPE_OUT="$out" MEMSCOPE_FORMATS=json \
    MEMSCOPE_STACK_DEPTH=2 "$PROGS/rel_fork_heaperr" "$FORKS"
ms_status_is run 0
grep -q "^forks $FORKS ok$" "$TMP/run.out" ||
    ms_fail "not every fork passed: $(cat "$TMP/run.out")"
n=$(ls "$out" | grep -c '^fh-[0-9]*\.json$' || true)
[ "$n" = "$FORKS" ] || ms_fail "$n children's reports, want $FORKS"
/usr/bin/python3 - "$out" <<'PYEOF' || ms_fail "a child's report is incomplete or lacks its heap error"
import json, os, sys
d = sys.argv[1]
bad = 0
for f in sorted(os.listdir(d)):
    if not f.endswith(".json"):
        continue
    r = json.load(open(os.path.join(d, f)))
    if r["trigger"] != "exit" or not r.get("heap_errors") and not r["summary"].get("heap_errors"):
        print("%s: trigger %r, no heap error" % (f, r["trigger"]))
        bad = 1
sys.exit(bad)
PYEOF
ms_no_tmp "$out"
echo "ok: $FORKS forks while another thread records heap errors: no child hung, every report complete"
