#!/usr/bin/env bash
# leak_classes.sh - leak classes by reachability at exit
# (tests/programs/leak_classes.c, tracer/leaks.c):
#  - every known block lands in its class, in the JSON, the markdown, the
#    folded stacks of `--metric lost` and the .bin (re-rendered by
#    `memscope report` to the same JSON bytes): a block held by a global
#    beyond a PROT_NONE page and one held by a blocked thread's local are
#    still_reachable, an overwritten pointer's block and a lost list's head
#    definitely_lost, the list's 9 other nodes indirectly_lost, a block
#    held only through an interior pointer possibly_lost, stdout's buffer
#    still_reachable; the summary's classes add up to the live blocks;
#  - the HTML's data block carries each site's classes, and drawn in headless
#    Chromium (where installed) its leaks table lists definitely lost first
#    and its class filter (#leaks=definitely_lost) keeps only those;
#  - MEMSCOPE_LEAK_CHECK=0 and sampled mode: not measured (null, a line in
#    the markdown, `--metric lost` refused with one line);
#  - the demo (examples/basic_usage): stdio's buffer is still_reachable.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3 cc
ms_setup leak_classes

export MEMSCOPE_FORMATS=json,md,bin
MEMSCOPE_FORMATS=json,md,bin,html MEMSCOPE_TEST_MODE=0 MEMSCOPE_NAME=lc \
    LD_PRELOAD=$MEMSCOPE_LIB "$PROGS/leak_classes" >lc.out 2>lc.err ||
    ms_fail "leak_classes exited $? ($(tail -1 lc.err))"
grep -q "leak_classes: done" lc.out || ms_fail "no output from leak_classes"
# the HTML leaks table in headless Chromium, where there is one: all
# classes, and the filter of the page's address (definitely lost alone)
CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
    for v in all:"" def:"#leaks=definitely_lost"; do
        timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
            --disable-background-networking --disable-component-update --disable-sync \
            --user-data-dir="$TMP/profile-${v%%:*}" --virtual-time-budget=5000 --dump-dom \
            "file://$TMP/reports/lc.html${v#*:}" >"dom-${v%%:*}.html" 2>chromium.err ||
            ms_fail "chromium failed on lc.html: $(tail -3 chromium.err)"
    done
else
    echo "note: $CHROMIUM not installed: the HTML filter is checked in its data only"
fi
"$MEMSCOPE_TOOL" report "$TMP/reports/lc.bin" --format json -o re.json
cmp -s re.json "$TMP/reports/lc.json" ||
    ms_fail "memscope report of lc.bin differs from lc.json"
"$MEMSCOPE_TOOL" report "$TMP/reports/lc.bin" --format folded --metric lost \
    -o lost.folded
"$MEMSCOPE_TOOL" report "$TMP/reports/lc.bin" --format md -o re.md

MEMSCOPE_LEAK_CHECK=0 MEMSCOPE_NAME=off LD_PRELOAD=$MEMSCOPE_LIB \
    "$PROGS/leak_classes" >/dev/null 2>off.err || ms_fail "run with MEMSCOPE_LEAK_CHECK=0 failed"
MEMSCOPE_SAMPLE=4096 MEMSCOPE_NAME=smp LD_PRELOAD=$MEMSCOPE_LIB \
    "$PROGS/leak_classes" >/dev/null 2>smp.err || ms_fail "sampled run failed"
if "$MEMSCOPE_TOOL" report "$TMP/reports/smp.bin" --format folded --metric lost \
    >smp.folded 2>smp.lost.err; then
    ms_fail "--metric lost of a sampled report succeeded"
fi
[ "$(wc -l <smp.lost.err)" -eq 1 ] && grep -q "not measured" smp.lost.err ||
    ms_fail "--metric lost of a sampled report: $(cat smp.lost.err)"

# the demo, linked with the library as `make demo` builds it
cc -std=gnu11 -O1 -g -Wall -I"$REPO/include" -pthread -o basic_usage \
    "$REPO/examples/basic_usage.c" -L"$(dirname "$MEMSCOPE_LIB")" \
    -Wl,-rpath,"$(dirname "$MEMSCOPE_LIB")" -lmemscope_malloc
./basic_usage >demo.out 2>demo.err || ms_fail "basic_usage failed"

PYTHONPATH=$REPO/tests/data:$REPO/tests/integration /usr/bin/python3 - "$TMP" <<'PY'
import json, msjson, sys
tmp = sys.argv[1]
sys.dont_write_bytecode = True     # nothing written into the checkout
from leaks import CLASSES, LOST, WANT, check, finish, html_data
load = msjson.load

d = load(f"{tmp}/reports/lc.json")
want = dict(WANT, _IO_file_doallocate=("still_reachable", 1, None))
def fn(leak):
    # the site's first frame of the program's own (or libc's stdio)
    for f in leak["frames"]:
        if f["function"] in want:
            return f["function"]
    return None
seen = {}
for l in d["leaks"]:
    f = fn(l)
    if f is None:
        continue
    seen[f] = l
    cls, blocks, nbytes = want[f]
    check(f"{f} class", l["class"], cls)
    check(f"{f} blocks", l["blocks"], blocks)
    if nbytes is not None:
        check(f"{f} bytes", l["bytes"], nbytes)
    c = l["classes"]
    check(f"{f} classes", {k: v["blocks"] for k, v in c.items()},
          {k: blocks if k == cls else 0 for k in CLASSES})
check("sites found", sorted(seen), sorted(want))
s = d["summary"]["leak_classes"]
check("summary classes' blocks", sum(v["blocks"] for v in s.values()),
      d["summary"]["live_blocks"])
check("summary classes' bytes", sum(v["bytes"] for v in s.values()),
      d["summary"]["live_bytes"])
for k in CLASSES:
    check(f"summary {k} = its leaks",
          s[k]["blocks"], sum(l["classes"][k]["blocks"] for l in d["leaks"]))
check("definitely_lost at least", s["definitely_lost"]["blocks"] >= 2, True)
check("indirectly_lost at least", s["indirectly_lost"]["blocks"] >= 9, True)

# markdown: the summary table and each site's class line
md = open(f"{tmp}/reports/lc.md").read()
check("re-rendered markdown", open(f"{tmp}/re.md").read(), md)
for k in CLASSES:
    row = f"| {k} | {s[k]['blocks']} | {s[k]['bytes']} B"
    check(f"markdown row {k}", row in md, True)
for f, (cls, blocks, nbytes) in want.items():
    if f == "_IO_file_doallocate":
        continue
    head = md.index(f"from `{f}`")
    line = md[head:md.index("```", head)]
    check(f"markdown class of {f}",
          f"Class: {cls} {blocks} block{'s' if blocks > 1 else ''} ({nbytes} B" in line, True)
# definitely lost first
order = [md.index(f"from `{f}`") for f in ("lose_one", "list_node", "hold_interior", "hold_global")]
check("markdown: definitely lost first", order == sorted(order), True)

# HTML: each site's classes in the data block as in the JSON; drawn, the
# leaks table lists the most severe class first, and the filter of the
# page's address keeps the definitely lost sites alone
import html as H, os, re
data = html_data(f"{tmp}/reports/lc.html")
check("html summary classes", data["summary"]["leak_classes"],
      [[s[k]["blocks"], s[k]["bytes"]] for k in CLASSES])
hsites = {x[0]: x for x in data["sites"]}
for l in d["leaks"]:
    check(f"html classes of site {l['site']}", hsites[l["site"]][11],
          [[l["classes"][k]["blocks"], l["classes"][k]["bytes"]] for k in CLASSES])
def leak_rows(path):
    dom = open(path).read()
    check(f"{path} rendered", 'data-rendered="ok"' in dom, True)
    sec = dom[dom.index('id="leaks"'):dom.index('id="heaperrors"')]
    rows = re.findall(r'<tr class="click">(.*?)</tr>', sec, re.S)
    out = []
    for r in rows:
        cls = re.findall(r'class="badge lc(\d)"', r)
        fns = [H.unescape(x) for x in re.findall(r'<div class="fn">(.*?)</div>', r)]
        out.append((int(cls[0]) if cls else 9, fns[0] if fns else None))
    return out
if os.path.exists(f"{tmp}/dom-all.html"):
    rows = leak_rows(f"{tmp}/dom-all.html")
    check("html: leaks table, most severe class first", [c for c, _ in rows],
          sorted(c for c, _ in rows))
    check("html: every site with live blocks", len(rows),
          sum(1 for l in d["leaks"] if l["blocks"] > 0))
    check("html: first rows", [f for _, f in rows[:2]], ["list_head", "lose_one"])
    rows = leak_rows(f"{tmp}/dom-def.html")
    check("html: #leaks=definitely_lost", rows, [(0, "list_head"), (0, "lose_one")])

# folded --metric lost: only the lost classes
lost = {}
for line in open(f"{tmp}/lost.folded"):
    stack, v = line.rsplit(" ", 1)
    lost[stack.split(";")[-1]] = int(v)
check("folded lost", lost, LOST)

for name, why in (("off", "MEMSCOPE_LEAK_CHECK=0"), ("smp", "sampled mode")):
    r = load(f"{tmp}/reports/{name}.json")
    check(f"{name}: summary classes", r["summary"]["leak_classes"], None)
    check(f"{name}: leak classes", {l["class"] for l in r["leaks"]}, {None})
    md = open(f"{tmp}/reports/{name}.md").read()
    check(f"{name}: markdown says not measured", f"not measured ({why}" in md, True)

demo = load(f"{tmp}/reports/basic_usage.json")
buf = [l for l in demo["leaks"] if any(f["function"] == "_IO_file_doallocate"
                                      for f in l["frames"])]
check("demo: stdio buffer site", len(buf), 1)
if buf:
    check("demo: stdio buffer class", buf[0]["class"], "still_reachable")
finish("ok: every block in its class at exit, in every format")
PY
