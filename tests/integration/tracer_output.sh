#!/usr/bin/env bash
# tracer_output.sh - what the library prints and writes around a program
# (tests/programs/tracer_simple.c, which exits with the status it is given):
#  - a report directory that cannot be made (its parent is a regular file)
#    or written (/proc/self): exactly one line on stderr, starting
#    "memscope:", and the program's stdout and exit status unchanged;
#  - a normal run prints nothing beyond the program's own output, and
#    writes NAME.{bin,json,html,md};
#  - MEMSCOPE_VERBOSE=1 prints the options and each report's path on
#    stderr (every line "memscope: ..."), stdout unchanged;
#  - MEMSCOPE_TEST_MODE=1 changes no count (summary, sites, histograms),
#    writes no HTML report and leaves the timeline empty.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup tracer_output
unset MEMSCOPE_VERBOSE MEMSCOPE_TEST_MODE MEMSCOPE_FORMATS MEMSCOPE_NAME MEMSCOPE_SAMPLE

# exactly one warning, starting "memscope:"; stdout and status unchanged
one_warning() {    # TAG
    local tag=$1 lines
    lines=$(wc -l <"$TMP/$tag.pre.err")
    [ "$lines" -eq 1 ] || ms_fail "$tag: $lines lines on stderr, expected one warning: $(head -5 "$TMP/$tag.pre.err")"
    grep -q '^memscope: ' "$TMP/$tag.pre.err" ||
        ms_fail "$tag: the warning does not start with 'memscope:': $(cat "$TMP/$tag.pre.err")"
    cmp -s "$TMP/$tag.plain.out" "$TMP/$tag.pre.out" || ms_fail "$tag: stdout changed"
    [ "$(cat "$TMP/$tag.pre.rc")" = "$(cat "$TMP/$tag.plain.rc")" ] ||
        ms_fail "$tag: exit status $(cat "$TMP/$tag.pre.rc"), without the library $(cat "$TMP/$tag.plain.rc")"
    [ -s "$TMP/$tag.plain.out" ] || ms_fail "$tag: the program printed nothing (test is broken?)"
    echo "ok: $tag: one warning ($(cut -c1-60 "$TMP/$tag.pre.err")...), stdout and exit status $(cat "$TMP/$tag.pre.rc") unchanged"
}

# --- a directory that cannot be made: its parent is a regular file
echo "not a directory" >"$TMP/afile"
MEMSCOPE_OUT=$TMP/afile/sub ms_both nodir "$PROGS/tracer_simple" 3
one_warning nodir
[ -f "$TMP/afile" ] || ms_fail "nodir: $TMP/afile was replaced"

# --- a directory that exists but takes no files
MEMSCOPE_OUT=/proc/self ms_both noperm "$PROGS/tracer_simple" 5
one_warning noperm

# --- a normal run: nothing printed, four reports written
MEMSCOPE_NAME=quiet ms_both quiet "$PROGS/tracer_simple"
ms_compare quiet stderr
[ ! -s "$TMP/quiet.pre.err" ] || ms_fail "quiet: the library printed on stderr: $(head -3 "$TMP/quiet.pre.err")"
for ext in bin json html md; do
    [ -s "$TMP/reports/quiet.$ext" ] || ms_fail "quiet: no report quiet.$ext"
done
echo "ok: quiet: nothing printed, reports quiet.{bin,json,html,md} written"

# --- verbose: the options and the report paths, on stderr only
MEMSCOPE_VERBOSE=1 MEMSCOPE_NAME=loud ms_both loud "$PROGS/tracer_simple"
ms_compare loud
err=$TMP/loud.pre.err
bad=$(grep -cv '^memscope: ' "$err" || true)
[ "$bad" -eq 0 ] || ms_fail "loud: $bad stderr lines do not start with 'memscope:'"
grep -qi 'options' "$err" || ms_fail "loud: no options printed: $(head -3 "$err")"
for opt in MEMSCOPE_ENABLE MEMSCOPE_SAMPLE MEMSCOPE_STACK_DEPTH MEMSCOPE_OUT MEMSCOPE_NAME \
    MEMSCOPE_FORMATS MEMSCOPE_SIGNAL MEMSCOPE_TEST_MODE MEMSCOPE_SYMBOL_CACHE; do
    grep -q "$opt" "$err" || ms_fail "loud: option $opt not printed"
done
grep -q "MEMSCOPE_OUT=$TMP/reports" "$err" || ms_fail "loud: MEMSCOPE_OUT's value not printed"
# the symbol cache by default: under XDG_CACHE_HOME (tests/run.sh sets one)
if [ -n "${XDG_CACHE_HOME:-}" ]; then
    grep -qF "MEMSCOPE_SYMBOL_CACHE=$XDG_CACHE_HOME/memscope/symbols" "$err" ||
        ms_fail "loud: MEMSCOPE_SYMBOL_CACHE's value not printed: $(grep SYMBOL "$err")"
fi
for ext in bin json html md; do
    f=$TMP/reports/loud.$ext
    [ -s "$f" ] || ms_fail "loud: no report loud.$ext"
    grep -qF "$f" "$err" || ms_fail "loud: the path $f is not printed"
done
echo "ok: loud: $(wc -l <"$err") lines on stderr name the options and the 4 report paths"

# --- test mode: same counts, no HTML, no timeline
MEMSCOPE_TEST_MODE=0 MEMSCOPE_NAME=normal ms_run pre normal "$PROGS/tracer_simple"
MEMSCOPE_TEST_MODE=1 MEMSCOPE_NAME=testmode ms_run pre testmode "$PROGS/tracer_simple"
for t in normal testmode; do
    [ "$(cat "$TMP/$t.pre.rc")" = 0 ] || ms_fail "$t: exit status $(cat "$TMP/$t.pre.rc")"
    [ ! -s "$TMP/$t.pre.err" ] || ms_fail "$t: stderr: $(head -3 "$TMP/$t.pre.err")"
done
cmp -s "$TMP/normal.pre.out" "$TMP/testmode.pre.out" || ms_fail "test mode changed stdout"
[ -s "$TMP/reports/normal.html" ] || ms_fail "no HTML report without test mode (test is broken?)"
[ ! -e "$TMP/reports/testmode.html" ] || ms_fail "test mode wrote an HTML report"
for ext in bin json md; do
    [ -s "$TMP/reports/testmode.$ext" ] || ms_fail "test mode wrote no .$ext report"
done
PYTHONPATH=$REPO/tests/data /usr/bin/python3 - "$TMP/reports/normal.json" "$TMP/reports/testmode.json" <<'EOF'
import msjson, sys
normal, test = (msjson.load(p) for p in sys.argv[1:3])
fails = []
for k in ("allocs", "frees", "reallocs", "bytes_allocated", "bytes_freed",
          "live_blocks", "live_bytes", "threads", "sites"):
    if normal["summary"][k] != test["summary"][k]:
        fails.append(f"summary.{k}: {normal['summary'][k]} without test mode, "
                     f"{test['summary'][k]} with it")
def sites(r):
    return sorted((tuple((f or {}).get("function") or "?" for f in s["frames"]),
                   s["allocs"], s["bytes"], s["frees"], s["freed_bytes"]) for s in r["sites"])
if sites(normal) != sites(test):
    fails.append("per-site counts differ with test mode")
if normal["size_histogram"] != test["size_histogram"]:
    fails.append("size_histogram differs with test mode")
count = lambda r: sum(b["count"] for b in r["lifetime_histogram"])
if count(normal) != count(test):
    fails.append(f"lifetime_histogram holds {count(normal)} frees without test "
                 f"mode, {count(test)} with it")
leaks = lambda r: sorted((l["blocks"], l["bytes"]) for l in r["leaks"])
if leaks(normal) != leaks(test):
    fails.append("leaks differ with test mode")
if test["timeline"]["points"] != []:
    fails.append(f"test mode: the timeline has {len(test['timeline']['points'])} points")
if fails:
    print("FAIL:\n  " + "\n  ".join(fails), file=sys.stderr)
    sys.exit(1)
print(f"ok: test mode: same counts ({test['summary']['allocs']} allocs, "
      f"{test['summary']['frees']} frees), no HTML, empty timeline")
EOF
