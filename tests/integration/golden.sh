#!/usr/bin/env bash
# golden.sh - what `memscope report` makes from the binary report of a
# deterministic run (tests/programs/ms_workload.c, exact mode, stack depth
# 3, test mode: no timeline) matches the committed golden files, after
# tests/golden/normalize.py has masked what changes between runs:
#   tests/golden/ms_workload.json.txt          --format json
#   tests/golden/ms_workload.folded.txt        --format folded (live bytes)
#   tests/golden/ms_workload.alloc.folded.txt  --format folded --metric allocated
# A field dropped, renamed or changed fails; the script proves it can tell
# by breaking a copy of the report on purpose. MS_UPDATE_GOLDEN=1 writes
# the golden files again (after a deliberate change of the format).
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need python3
[ -x "$MEMSCOPE_TOOL" ] || ms_fail "$MEMSCOPE_TOOL not built (run make)"
WL=$(ms_prog ms_workload)
# A workload built with a sanitizer (make SANITIZE=1) allocates for its
# runtime too: the golden figures are those of the plain build.
if nm "$WL" 2>/dev/null | grep -q '__ubsan_\|__asan_'; then
    ms_skip "$WL is built with a sanitizer: the golden files are for the plain build"
fi
ms_setup golden
T=$MEMSCOPE_TOOL
G=$REPO/tests/golden
NORM="python3 $G/normalize.py"
OURS=wl_,phase_,worker_,main

LD_PRELOAD=$MEMSCOPE_LIB MEMSCOPE_OUT=$TMP/out MEMSCOPE_NAME=golden MEMSCOPE_TEST_MODE=1 \
    MEMSCOPE_STACK_DEPTH=3 MEMSCOPE_FORMATS=bin "$WL" run || ms_fail "workload failed"
BIN=$TMP/out/golden.bin

"$T" report "$BIN" --format json >"$TMP/report.json"
$NORM json $OURS <"$TMP/report.json" >"$TMP/ms_workload.json.txt"
"$T" report "$BIN" --format folded | $NORM folded $OURS >"$TMP/ms_workload.folded.txt"
"$T" report "$BIN" --format folded --metric allocated |
    $NORM folded $OURS >"$TMP/ms_workload.alloc.folded.txt"

files="ms_workload.json.txt ms_workload.folded.txt ms_workload.alloc.folded.txt"
if [ "${MS_UPDATE_GOLDEN:-}" = 1 ]; then
    for f in $files; do cp "$TMP/$f" "$G/$f"; done
    echo "golden files written: $files"
    exit 0
fi
for f in $files; do
    if ! cmp -s "$G/$f" "$TMP/$f"; then
        diff -u --label "golden $f" --label "this run" "$G/$f" "$TMP/$f" | head -40 >&2
        ms_fail "$f differs from the golden file (MS_UPDATE_GOLDEN=1 writes it again, if meant)"
    fi
    echo "ok: $f matches ($(wc -l <"$G/$f") lines)"
done

# The comparison sees a field renamed or dropped, and the normalizer
# refuses a report without a field it masks.
broken() {     # WHAT SED-EXPRESSION: the report so broken no longer matches
    sed -e "$2" "$TMP/report.json" | $NORM json $OURS >"$TMP/broken.txt" 2>"$TMP/broken.err" || true
    ! cmp -s "$G/ms_workload.json.txt" "$TMP/broken.txt" ||
        ms_fail "golden test blind to $1"
    echo "ok: a report with $1 fails"
}
broken "a field renamed" 's/"temporaries":/"temporary":/'
broken "a field dropped" 's/"peak_live_bytes":[0-9]*,//'
broken "a value changed" 's/"live_bytes":4096/"live_bytes":4097/'
broken "a masked field renamed" 's/"duration_ns":/"duration":/'
grep -q "no field duration_ns" "$TMP/broken.err" ||
    ms_fail "normalize.py did not name the missing field: $(cat "$TMP/broken.err")"
