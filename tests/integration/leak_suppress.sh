#!/usr/bin/env bash
# leak_suppress.sh - leak suppressions (exporters/suppress.c): a file of
# LeakSanitizer's leak:PATTERN lines, given to `memscope report
# --suppressions FILE` and to the library as MEMSCOPE_SUPPRESSIONS, hides
# the leaks it names from the leak lists of the JSON, markdown, text, HTML
# and folded --metric lost, and every summary counts them as suppressed
# (blocks, bytes, sites, and per pattern); the leak classes of the summary
# leave them out. Patterns as LeakSanitizer's: a substring of a frame's
# function, file or module, '*' any run, '^'/'$' anchors; other sanitizers'
# lines are ignored, comments and blank lines skipped. A bad file is one
# line of error and status 1.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup leak_suppress

cat >supp.txt <<'EOF'
# known leaks of tests/programs/leak_classes.c
leak:lose_one
  leak:^list_head$
interceptor_via_fun:hold_global

leak:*hold_inter*
leak:no_such_function_here
EOF

MEMSCOPE_FORMATS=json,md,bin,html MEMSCOPE_TEST_MODE=0 MEMSCOPE_NAME=lc \
    LD_PRELOAD=$MEMSCOPE_LIB "$PROGS/leak_classes" >lc.out 2>lc.err ||
    ms_fail "leak_classes exited $? ($(tail -1 lc.err))"
MEMSCOPE_SUPPRESSIONS=$TMP/supp.txt MEMSCOPE_FORMATS=json,md,html MEMSCOPE_TEST_MODE=0 \
    MEMSCOPE_NAME=env LD_PRELOAD=$MEMSCOPE_LIB "$PROGS/leak_classes" >env.out 2>env.err ||
    ms_fail "leak_classes with MEMSCOPE_SUPPRESSIONS exited $? ($(tail -1 env.err))"
R=$TMP/reports
for f in json md text html; do
    "$MEMSCOPE_TOOL" report "$R/lc.bin" --format $f --suppressions supp.txt -o "tool.$f" ||
        ms_fail "memscope report --format $f --suppressions failed"
done
"$MEMSCOPE_TOOL" report "$R/lc.bin" --format folded --metric lost --suppressions supp.txt \
    -o tool.lost
"$MEMSCOPE_TOOL" report "$R/lc.bin" --format json -o plain.json
cmp -s "$R/env.json" tool.json && ms_fail "the library's and the tool's reports are of two runs: they cannot be the same bytes"

# bad files: one line, status 1; bin: usage
bad() {
    local name=$1 rc=0
    shift
    "$MEMSCOPE_TOOL" report "$R/lc.bin" --format json --suppressions "$@" >/dev/null 2>"$name.err" || rc=$?
    [ $rc = 1 ] && [ "$(wc -l <"$name.err")" = 1 ] ||
        ms_fail "suppressions $name: status $rc, $(cat "$name.err")"
}
printf 'leak:ok\nno type here\n' >notype.txt; bad notype notype.txt
grep -q "notype.txt:2:" notype.err || ms_fail "no line number: $(cat notype.err)"
printf 'leak:\n' >empty.txt; bad empty empty.txt
printf 'Leak!:x\n' >badtype.txt; bad badtype badtype.txt
bad missing "$TMP/no-such-file"
head -c 2000000 /dev/zero | tr '\0' 'a' >big.txt; bad big big.txt
rc=0; "$MEMSCOPE_TOOL" report "$R/lc.bin" --format bin --suppressions supp.txt -o x.bin 2>bin.err || rc=$?
[ $rc = 2 ] || ms_fail "--format bin --suppressions: status $rc"
# the library with a file it cannot read: warns once, lists every leak
MEMSCOPE_SUPPRESSIONS=$TMP/no-such-file MEMSCOPE_FORMATS=json MEMSCOPE_NAME=nofile \
    LD_PRELOAD=$MEMSCOPE_LIB "$PROGS/leak_classes" >/dev/null 2>nofile.err ||
    ms_fail "leak_classes with a missing suppression file exited $?"
[ "$(grep -c MEMSCOPE_SUPPRESSIONS nofile.err)" = 1 ] || ms_fail "no one warning: $(cat nofile.err)"

PYTHONPATH=$REPO/tests/data:$REPO/tests/integration /usr/bin/python3 - "$TMP" <<'PY'
import msjson, re, sys
tmp = sys.argv[1]
sys.dont_write_bytecode = True     # nothing written into the checkout
from leaks import CLASSES, WANT, check, finish, html_data
HIDDEN = {"lose_one": 3333, "list_head": 4444, "hold_interior": 6666}
PATTERNS = [("lose_one", 1, 1, 3333), ("^list_head$", 1, 1, 4444),
            ("*hold_inter*", 1, 1, 6666), ("no_such_function_here", 0, 0, 0)]
def ours(leak):
    for f in leak["frames"]:
        if f and f["function"] in WANT:
            return f["function"]
plain = msjson.load(f"{tmp}/plain.json")
check("plain: no suppression", plain["summary"]["suppressed"], None)
for tag, path in (("tool", f"{tmp}/tool.json"), ("env", f"{tmp}/reports/env.json")):
    d = msjson.load(path)
    sp = d["summary"]["suppressed"]
    check(f"{tag}: suppressed totals", (sp["sites"], sp["blocks"], sp["bytes"]),
          (3, 3, sum(HIDDEN.values())))
    check(f"{tag}: per pattern", [(p["pattern"], p["sites"], p["blocks"], p["bytes"])
                                  for p in sp["patterns"]], PATTERNS)
    check(f"{tag}: file", sp["file"].endswith("supp.txt"), True)
    listed = {ours(l) for l in d["leaks"]} - {None}
    check(f"{tag}: leaks listed", sorted(listed), sorted(set(WANT) - set(HIDDEN)))
    lc = d["summary"]["leak_classes"]
    check(f"{tag}: classes + suppressed = live blocks",
          sum(v["blocks"] for v in lc.values()) + sp["blocks"], d["summary"]["live_blocks"])
    check(f"{tag}: classes + suppressed = live bytes",
          sum(v["bytes"] for v in lc.values()) + sp["bytes"], d["summary"]["live_bytes"])
    check(f"{tag}: classes = listed leaks'",
          {k: sum(l["classes"][k]["blocks"] for l in d["leaks"]) for k in CLASSES},
          {k: v["blocks"] for k, v in lc.items()})
for tag, path in (("tool", f"{tmp}/tool.md"), ("env", f"{tmp}/reports/env.md")):
    md = open(path).read()
    leaks = md[md.index("## Leaks"):]
    leaks = leaks[:leaks.index("\n## ", 4)]
    check(f"{tag} md: suppressed line", bool(re.search(
        r"Suppressed by 4 patterns of `[^`]*supp\.txt`: 3 blocks, 14443 B", leaks)), True)
    for p, n, b, y in PATTERNS[:3]:
        check(f"{tag} md: pattern {p}", f"- `{p}`: {b} block, {y} B" in leaks, True)
    for f in HIDDEN:
        check(f"{tag} md: {f} not listed", f"from `{f}`" in leaks, False)
    check(f"{tag} md: hold_global listed", "from `hold_global`" in leaks, True)
text = open(f"{tmp}/tool.text").read()
check("text: suppressed line", "Suppressed by 4 patterns of" in text and "3 blocks" in text, True)
sec = text[text.index("MEMORY LEAKS") + 12:]
m = re.search(r"^[A-Z][A-Z ]{5,}$", sec, re.M)     # the next section's title
sec = sec[:m.start()] if m else sec
for f in HIDDEN:
    check(f"text: {f} not listed", f in sec, False)
check("text: hold_global listed", "hold_global" in sec, True)
lost = {}
for line in open(f"{tmp}/tool.lost"):
    stack, v = line.rsplit(" ", 1)
    lost[stack.split(";")[-1]] = int(v)
check("folded lost", lost, {"list_node": 5040})
for tag, path in (("tool", f"{tmp}/tool.html"), ("env", f"{tmp}/reports/env.html")):
    data = html_data(path)
    sp = data["summary"]["suppressed"]
    check(f"{tag} html: suppressed", sp[1:4], [3, 3, sum(HIDDEN.values())])
    check(f"{tag} html: patterns", [tuple(p) for p in sp[4]], PATTERNS)
    check(f"{tag} html: suppressed sites flagged", sum(1 for x in data["sites"] if x[12] == 1), 3)
finish("ok: a suppression file hides the leaks it names in every format, and every summary counts them")
PY
