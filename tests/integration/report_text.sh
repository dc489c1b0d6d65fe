#!/usr/bin/env bash
# report_text.sh - the text report (exporters/text.c, docs/text.md).
# tests/programs/report_prog.c runs with the library preloaded, writing
# x.bin, x.json and x.txt (MEMSCOPE_FORMATS=bin,json,text: 80 columns).
# - On a terminal of 80 columns (under `script`), `memscope report x.bin`
#   without --format writes the text report: the same bytes as x.txt, no
#   line wider than 80 columns, every section there; without a terminal it
#   still writes JSON.
# - Its figures are x.json's: totals, each listed site's calls, bytes,
#   live bytes and blocks, its leak classes, temporaries; sites ranked as
#   the JSON ranks them.
# - COLUMNS sets the width (40, 132).
# - tests/tools/text_names.c: names with escape sequences, control bytes,
#   invalid UTF-8, wide characters, 3000 bytes, long C++ signatures: at
#   widths 40 to 200 no line overflows, nothing but printable UTF-8 and
#   newlines goes out.
# - rel_heaperr's heap errors are listed with both stacks.
set -euo pipefail
. "$(dirname "$0")/common.bash"

PY=/usr/bin/python3
ms_need "$PY" cc script
ms_setup report_text
T=$MEMSCOPE_TOOL
PROG=$(ms_prog report_prog)

env MEMSCOPE_ENABLE=1 MEMSCOPE_SAMPLE=0 MEMSCOPE_AUTO_EXPORT=1 MEMSCOPE_TEST_MODE=0 \
    MEMSCOPE_STACK_DEPTH=16 MEMSCOPE_OUT="$TMP/r" MEMSCOPE_NAME=x \
    MEMSCOPE_FORMATS=bin,json,text LD_PRELOAD="$MEMSCOPE_LIB" "$PROG" \
    >"$TMP/prog.out" 2>"$TMP/prog.err" || ms_fail "report_prog failed: $(head -5 "$TMP/prog.err")"
[ -s "$TMP/r/x.txt" ] || ms_fail "no x.txt written (MEMSCOPE_FORMATS=text)"

# on a terminal of 80 columns, no --format: text
script -qec "stty cols 80 rows 24 2>/dev/null; unset COLUMNS; '$T' report '$TMP/r/x.bin'" \
    /dev/null </dev/null >"$TMP/tty.raw" || ms_fail "report on a terminal failed: $(tail -3 "$TMP/tty.raw")"
tr -d '\r' <"$TMP/tty.raw" >"$TMP/tty.txt"
cmp -s "$TMP/tty.txt" "$TMP/r/x.txt" ||
    ms_fail "the text on a terminal differs from x.txt: $(diff "$TMP/r/x.txt" "$TMP/tty.txt" | head -5)"
echo "ok: on a terminal, report writes the text report (the library's x.txt, byte for byte)"
"$T" report "$TMP/r/x.bin" >"$TMP/default.out" || ms_fail "report without --format failed"
[ "$(head -c 1 "$TMP/default.out")" = "{" ] || ms_fail "without a terminal the default is not JSON"
echo "ok: without a terminal the default stays JSON"
COLUMNS=40 "$T" report "$TMP/r/x.bin" --format text >"$TMP/w40.txt" || ms_fail "COLUMNS=40 failed"
COLUMNS=132 "$T" report "$TMP/r/x.bin" --format text >"$TMP/w132.txt" || ms_fail "COLUMNS=132 failed"

"$PY" - "$TMP" <<'EOF'
import json, re, sys
tmp = sys.argv[1]
fails = []
def check(ok, what):
    if not ok:
        fails.append(what)

def fit(path, width):
    raw = open(path, 'rb').read()
    check(raw.endswith(b'\n'), f"{path}: no final newline")
    for n, line in enumerate(raw.decode('utf-8').split('\n'), 1):
        check(len(line) <= width, f"{path}:{n}: {len(line)} columns > {width}: {line!r}")
        check(all(c >= ' ' and c != '\x7f' for c in line), f"{path}:{n}: a control character")

for name, width in (("tty.txt", 80), ("w40.txt", 40), ("w132.txt", 132)):
    fit(f"{tmp}/{name}", width)
text = open(f"{tmp}/tty.txt").read()
j = json.load(open(f"{tmp}/r/x.json"))
s = j["summary"]

def fmt(v):
    if v < 10240:
        return f"{v} B"
    d, u = float(v), -1
    while d >= 1024 and u < 5:
        d /= 1024
        u += 1
    return "%.1f %s" % (d, ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"][u])
pl = lambda n: "" if n == 1 else "s"

titles = ["MOST CALLS TO ALLOCATION FUNCTIONS", "PEAK MEMORY CONSUMERS", "MEMORY LEAKS",
          "MOST TEMPORARY ALLOCATIONS", "HEAP ERRORS"]
pos = [text.find("\n" + t + "\n") for t in titles]
check(all(p > 0 for p in pos) and pos == sorted(pos), f"sections missing or out of order: {pos}")
sec = {t: text[pos[i]:pos[i + 1] if i + 1 < len(pos) else len(text)] for i, t in enumerate(titles)}

head = text[:pos[0]]
flat = " ".join(head.split())
temps = sum(x["temporaries"] for x in j["sites"])
for want in (f"{s['allocs']} allocations ({fmt(s['bytes_allocated'])})", f"{s['frees']} frees",
             f"{s['reallocs']} reallocations", f"{temps} temporaries",
             f"peak live heap {fmt(s['peak_live_bytes'])}",
             f"live {fmt(s['live_bytes'])} in {s['live_blocks']} blocks",
             f"{len(j['sites'])} sites", "0 heap errors", "report_prog (pid %d)" % j["pid"]):
    check(want in flat, f"header lacks {want!r}: {flat}")

sites = {x["id"]: x for x in j["sites"]}
def entries(body):
    """(site id, the entry's first line(s) joined, its lines) per entry"""
    out, cur = [], None
    for line in body.split("\n"):
        m = re.match(r"^ ?\d+\. ", line)
        if m:
            cur = [line]
            out.append(cur)
        elif cur is not None and line.startswith("    ") and not line.lstrip().startswith("#") and "(site" not in " ".join(cur):
            cur.append(line)
        elif cur is not None:
            cur.append(line)
    res = []
    for e in out:
        joined, k = "", 0
        while k < len(e):
            joined += " " + e[k].strip()
            k += 1
            if "(site " in joined:
                break
        m = re.search(r"\(site (\d+)\)", joined)
        check(m is not None, f"an entry without its site: {e[:2]}")
        if m:
            res.append((int(m.group(1)), joined.strip(), e))
    return res

def ranked(key):
    xs = [x for x in j["sites"] if key(x) > 0]
    return [x["id"] for x in sorted(xs, key=lambda x: -key(x))][:10]

calls = entries(sec[titles[0]])
check([e[0] for e in calls] == ranked(lambda x: x["allocs"]),
      f"most calls: {[e[0] for e in calls]} != {ranked(lambda x: x['allocs'])}")
for sid, first, lines in calls:
    x = sites[sid]
    want = (f"{x['allocs']} call{pl(x['allocs'])}, {fmt(x['bytes'])} allocated, "
            f"{fmt(x['live_bytes'])} live (site {sid})")
    check(want in first, f"site {sid}: {first!r} lacks {want!r}")
    fn = next(f for f in j["frames"] if f is not None) if False else None
    check(any(l.lstrip().startswith("#") for l in lines), f"site {sid}: no stack")

live = entries(sec[titles[1]])
check([e[0] for e in live] == ranked(lambda x: x["live_bytes"]), "peak consumers: not by live bytes")
for sid, first, _ in live:
    x = sites[sid]
    want = f"{fmt(x['live_bytes'])} live in {x['live_blocks']} block{pl(x['live_blocks'])}"
    check(want in first, f"peak consumers site {sid}: {first!r} lacks {want!r}")
check("not measured" in sec[titles[1]], "the peak section does not say what is not measured")

leaks = {g["site"]: g for g in j["leaks"]} if isinstance(j.get("leaks"), list) else {}
lk = entries(sec[titles[2]])
check(len(lk) > 0, "no leak entries")
classes = s["leak_classes"]
check(classes is not None, "the JSON has no leak classes")
for c, v in (classes or {}).items():
    want = f"{c} {v['blocks']} block{pl(v['blocks'])} ({fmt(v['bytes'])})"
    check(want in " ".join(sec[titles[2]].split()), f"leak section lacks {want!r}")
for sid, first, lines in lk:
    g = leaks.get(sid)
    check(g is not None, f"leak site {sid} is not among the JSON's leaks")
    if g is None:
        continue
    want = f"{fmt(g['bytes'])} live in {g['blocks']} block{pl(g['blocks'])}"
    check(want in first, f"leak site {sid}: {first!r} lacks {want!r}")
    cl = " ".join(l.strip() for l in lines)
    for c, v in (g.get("classes") or {}).items():
        if v["blocks"]:
            want = f"{c} {v['blocks']} ({fmt(v['bytes'])})"
            check(want in cl, f"leak site {sid} lacks {want!r}")
# the most severe class first: a definitely lost site before a reachable one
order = [min([i for i, c in enumerate(["definitely_lost", "indirectly_lost", "possibly_lost", "still_reachable"])
              if ((leaks[sid].get("classes") or {}).get(c) or {}).get("blocks")] or [4]) for sid, _, _ in lk if sid in leaks]
check(order == sorted(order), f"leaks not by class: {order}")

tp = entries(sec[titles[3]])
check([e[0] for e in tp] == ranked(lambda x: x["temporaries"]), "temporaries: wrong ranking")
for sid, first, _ in tp:
    x = sites[sid]
    check(first.startswith("%d. %d temporar" % (tp.index((sid, first, _)) + 1, x["temporaries"])) or
          f" {x['temporaries']} temporar" in first, f"temporaries site {sid}: {first!r}")
check(f"{temps} temporaries" in " ".join(sec[titles[3]].split()), "temporaries total")
check("gamma_temp" in sec[titles[3]], "gamma_temp (16 temporaries) not in the temporaries section")
check("alpha_alloc" in sec[titles[2]], "alpha_alloc (8 leaked blocks) not in the leak section")
check("None found." in sec[titles[4]], "heap errors: report_prog has none")

if fails:
    print("FAIL:", *fails[:20], sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"ok: sections in order, no line over its width (80, 40, 132), figures match x.json "
      f"({len(calls)} + {len(live)} + {len(lk)} + {len(tp)} entries)")
EOF

# hostile names at many widths
cc -std=gnu11 -O1 -Wall -Wextra -Werror -D_GNU_SOURCE -I"$REPO/include" -o "$TMP/text_names" \
    "$REPO/tests/tools/text_names.c" "$REPO/exporters/text.c" "$REPO/exporters/writer.c" \
    "$REPO/exporters/report.c" "$REPO/cli/xalloc.c" || ms_fail "cannot build tests/tools/text_names.c"
"$TMP/text_names" 1 40 41 57 80 99 132 200 >"$TMP/names.txt" || ms_fail "text_names failed"
"$PY" - "$TMP/names.txt" <<'EOF'
import sys, unicodedata
raw = open(sys.argv[1], 'rb').read()
try:
    text = raw.decode('utf-8')
except UnicodeDecodeError as e:
    sys.exit(f"FAIL: not UTF-8: {e}")
width, n, bad = None, 0, []
for line in text.split('\n'):
    if line.startswith('=== '):
        width = max(40, int(line[4:]))
        continue
    n += 1
    cols = sum(2 if unicodedata.east_asian_width(c) in 'WF' else 1 for c in line)
    if cols > width:
        bad.append(f"{cols} > {width}: {line!r}")
    if any(ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0 for c in line):
        bad.append(f"control character: {line!r}")
if bad:
    sys.exit("FAIL: " + "\n  ".join(bad[:10]))
if 'yyyyy' not in text or '...' not in text or '\u5b57' not in text:
    sys.exit("FAIL: a name is missing or was never cut")
print(f"ok: hostile names at 8 widths: {n} lines, none overflows, no control character")
EOF

# heap errors, with both stacks
env MEMSCOPE_OUT="$TMP/he" MEMSCOPE_NAME=he MEMSCOPE_FORMATS=bin LD_PRELOAD="$MEMSCOPE_LIB" \
    "$PROGS/rel_heaperr" all >/dev/null 2>&1 || ms_fail "rel_heaperr failed"
"$T" report "$TMP/he/he.bin" --format text >"$TMP/he.txt" || ms_fail "report of he.bin failed"
sed -n '/^HEAP ERRORS$/,$p' "$TMP/he.txt" >"$TMP/he.sec"
grep -q '^8 found\.$' "$TMP/he.sec" || ms_fail "heap errors: not 8 found: $(head -3 "$TMP/he.sec")"
grep -q '^ 1\. double_free of 0x' "$TMP/he.sec" || ms_fail "heap error 1 is not the double free"
grep -q 'allocated with malloc; freed with delete$' "$TMP/he.sec" || ms_fail "no mismatched free's kinds"
grep -q '^    freed at:$' "$TMP/he.sec" && grep -q '^    allocated at:$' "$TMP/he.sec" ||
    ms_fail "heap errors without their stacks"
grep -q 'bad_double_free' "$TMP/he.sec" || ms_fail "the double free's stack does not name its function"
echo "ok: heap errors listed with their kinds and both stacks"

# sampled: per-site figures marked as estimates
env MEMSCOPE_ENABLE=1 MEMSCOPE_SAMPLE=1k MEMSCOPE_AUTO_EXPORT=1 MEMSCOPE_TEST_MODE=0 \
    MEMSCOPE_OUT="$TMP/s" MEMSCOPE_NAME=x MEMSCOPE_FORMATS=text LD_PRELOAD="$MEMSCOPE_LIB" "$PROG" \
    >/dev/null 2>&1 || ms_fail "report_prog (sampled) failed"
grep -q '^sampled mode (one sample per 1024 bytes on average)' "$TMP/s/x.txt" || ms_fail "sampled: no mode line"
grep -q '^MOST CALLS TO ALLOCATION FUNCTIONS (estimates: ~)$' "$TMP/s/x.txt" || ms_fail "sampled: titles not marked"
grep -Eq '^ +1\. ~[0-9]+ calls?, ~' "$TMP/s/x.txt" || ms_fail "sampled: site figures not marked ~"
grep -q 'Leak classes: not measured (sampled mode' "$TMP/s/x.txt" || ms_fail "sampled: leak classes not said unmeasured"
awk 'length($0) > 80 { bad = 1 } END { exit bad }' "$TMP/s/x.txt" || ms_fail "sampled: a line over 80 columns"
echo "ok: sampled: figures marked as estimates, leak classes not measured, within 80 columns"
