#!/usr/bin/env bash
# rel_heaperr.sh - heap errors are found, not caused (exact mode;
# tests/programs/rel_heaperr.cc): a double free (same thread; of a live
# thread's block, which waits in its inbox; of an exited thread's block),
# a free of a static buffer, delete of malloc'ed memory, delete[] of new'ed
# memory, free of new[]'ed memory and a free of an interior pointer; then,
# each in a run of its own, frees of wild pointers below 16 KiB (0x100,
# 0x3ff8: the lowest region of the tracer's table, where no heap lies).
# - The program runs on: it gets past every bad call (none reaches
#   jemalloc), works on, and exits 0.
# - The JSON report lists each error in order, with its kind, address,
#   allocation and release kinds, the release stack (naming the function
#   that made the bad call) and, when a block was allocated, its allocation
#   stack (naming the function that allocated it).
# - With MEMSCOPE_ABORT_ON_ERROR=1, each error alone aborts the program
#   (status 134) after one line on stderr naming its kind and address, and
#   after writing NAME.heap-error.json, a complete report of trigger
#   "heap_error".
# The other formats are rel_heaperr_formats.sh's.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup rel_heaperr
P=$PROGS/rel_heaperr
CASES="double_free invalid_free delete_malloc delete_array_new free_new_array interior
       double_free_xthread double_free_exited"

ms_timed 60 all env LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_NAME=he "$P" all
ms_status_is all 0
grep -qx survived "$TMP/all.out" || ms_fail "the program did not get past its heap errors"
echo "ok: the program ran on past 8 heap errors and exited 0"
ms_reports_check --errors 8 "$MEMSCOPE_OUT/he.json"
PYTHONPATH=$REPO/tests/data /usr/bin/python3 - "$TMP/all.out" "$MEMSCOPE_OUT/he.json" $CASES <<'PYEOF' || ms_fail "the JSON report does not describe the heap errors"
import msjson, sys
out, rep, cases = sys.argv[1], sys.argv[2], sys.argv[3:]
want = [l.split()[1:] for l in open(out) if l.startswith("expect ")]
errs = msjson.load(rep)["heap_errors"]
if len(errs) != len(want):
    sys.exit("%d heap errors in the report, the program made %d" % (len(errs), len(want)))
funcs = lambda frames: " ".join(f["function"] or "?" for f in frames)
bad = 0
for case, (kind, addr, alloc, how), e in zip(cases, want, errs):
    problems = []
    if e["kind"] != kind:
        problems.append("kind %s" % e["kind"])
    if int(e["address"], 16) != int(addr, 16):
        problems.append("address %s, want %s" % (e["address"], addr))
    if e["free_kind"] != how:
        problems.append("free_kind %s, want %s" % (e["free_kind"], how))
    if kind == "mismatched_free" and e["alloc_kind"] != alloc:
        problems.append("alloc_kind %s, want %s" % (e["alloc_kind"], alloc))
    fn = case
    if "bad_" + fn not in funcs(e["free_frames"]):
        problems.append("free_frames [%s] do not name bad_%s" % (funcs(e["free_frames"]), fn))
    if alloc != "-" and "make_" not in funcs(e["alloc_frames"]):
        problems.append("alloc_frames [%s] do not name the allocating function"
                        % funcs(e["alloc_frames"]))
    if problems:
        print("%s: %s" % (case, "; ".join(problems)))
        bad = 1
    else:
        print("ok: %s: %s at %s (%s of %s), %s" % (case, kind, addr, how, alloc,
              "the free stack (no block)" if alloc == "-" else "both stacks"))
sys.exit(bad)
PYEOF

# wild pointers: each one invalid_free with its free stack, the program on
for c in wild_free wild_free_edge; do
    ms_timed 60 $c env LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_NAME=$c "$P" $c
    ms_status_is $c 0
    grep -qx survived "$TMP/$c.out" || ms_fail "$c: the program did not get past the free"
    read -r _ kind addr _ < "$TMP/$c.out"
    PYTHONPATH=$REPO/tests/data /usr/bin/python3 - "$MEMSCOPE_OUT/$c.json" "$addr" "bad_$c" <<'PYEOF' ||
import msjson, sys
errs = msjson.load(sys.argv[1])["heap_errors"]
if len(errs) != 1:
    sys.exit("%d heap errors, want 1" % len(errs))
e = errs[0]
if e["kind"] != "invalid_free" or int(e["address"], 16) != int(sys.argv[2], 16):
    sys.exit("%s of %s, want invalid_free of %s" % (e["kind"], e["address"], sys.argv[2]))
if sys.argv[3] not in " ".join(f["function"] or "?" for f in e["free_frames"]):
    sys.exit("the free stack does not name " + sys.argv[3])
PYEOF
        ms_fail "$c: the report does not describe the wild free"
    echo "ok: $c: invalid_free of $addr, the program ran on"
done
CASES="$CASES wild_free wild_free_edge"

for c in $CASES; do
    out=$TMP/abort-$c
    ms_timed 60 abort-$c env LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_ABORT_ON_ERROR=1 \
        MEMSCOPE_OUT="$out" "$P" $c
    ms_status_is abort-$c 134
    read -r _ kind addr _ < "$TMP/abort-$c.out"
    grep -q "heap error: $kind of $addr" "$TMP/abort-$c.err" ||
        ms_fail "abort-$c: stderr does not name the error ($kind of $addr): $(cat "$TMP/abort-$c.err")"
    [ "$(grep -c . "$TMP/abort-$c.err")" = 1 ] ||
        ms_fail "abort-$c: more than one line on stderr: $(cat "$TMP/abort-$c.err")"
    grep -q survived "$TMP/abort-$c.out" && ms_fail "abort-$c: the program went on"
    # the report written before aborting is NAME.heap-error.json, complete,
    # and says what made it: trigger "heap_error", not a snapshot
    reps=("$out"/*.heap-error.json)
    [ -e "${reps[0]}" ] || ms_fail "abort-$c: no *.heap-error.json report in $out: $(ls "$out" 2>&1)"
    ms_reports_check --errors 1 --trigger heap_error "${reps[@]}" >/dev/null
    grep -q '"trigger":"heap_error","snapshot":0' "${reps[0]}" ||
        ms_fail "abort-$c: ${reps[0]} does not say trigger heap_error, snapshot 0"
    ms_no_tmp "$out"
done
echo "ok: MEMSCOPE_ABORT_ON_ERROR=1: each of the $(echo $CASES | wc -w) errors aborts (134) with its kind and address on stderr, after a report of trigger heap_error"
