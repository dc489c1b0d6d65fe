#!/usr/bin/env bash
# report_md.sh - the markdown report. tests/programs/report_prog.c runs
# with the library preloaded: known allocations from named functions on two
# named threads, 8 + 5 + 1 leaked blocks of its own, a task tree, and a
# variable and a task with hostile names (backticks, a pipe, HTML, a
# newline followed by "# "). Its x.md must parse with libcmark
# (tests/tools/md_check.c) into the expected headings, hold no raw HTML,
# link or image, and state the same figures as x.json from the same run.
# A sampled run must label its per-site figures as estimates. Where the
# tool has `memscope report`, it writes the same x.md again from x.bin.
# Then tests/tools/md_names.c gives the writer a report whose every name is
# hostile (markdown and HTML syntax, backticks, control bytes, invalid
# UTF-8, random bytes): the document keeps its structure and shows each
# name as text, as md.c documents.
set -euo pipefail
. "$(dirname "$0")/common.bash"

PY=/usr/bin/python3
ms_need "$PY" cc
ms_setup report_md
PROG=$(ms_prog report_prog)
[ -f /usr/include/cmark.h ] || ms_skip "libcmark-dev is not installed (make deps)"

cc -std=gnu11 -O1 -Wall -Wextra -Werror -o "$TMP/md_check" \
    "$REPO/tests/tools/md_check.c" -lcmark || ms_fail "cannot build tests/tools/md_check.c"

# run TAG ENV...: the program, preloaded, reports in $TMP/TAG
run() {
    local tag=$1
    shift
    env MEMSCOPE_ENABLE=1 MEMSCOPE_SAMPLE=0 MEMSCOPE_AUTO_EXPORT=1 MEMSCOPE_TEST_MODE=0 \
        MEMSCOPE_STACK_DEPTH=8 "$@" MEMSCOPE_OUT="$TMP/$tag" MEMSCOPE_NAME=x MEMSCOPE_FORMATS=bin,json,md \
        LD_PRELOAD="$MEMSCOPE_LIB" "$PROG" >"$TMP/$tag.out" 2>"$TMP/$tag.err" ||
        ms_fail "$tag: report_prog failed: $(head -5 "$TMP/$tag.err")"
    [ -s "$TMP/$tag/x.md" ] || ms_fail "$tag: no x.md written"
    "$TMP/md_check" "$TMP/$tag/x.md" >"$TMP/$tag.blocks" 2>"$TMP/$tag.check" ||
        ms_fail "$tag: x.md does not pass md_check: $(cat "$TMP/$tag.check")"
    echo "ok: $tag: x.md parses ($(wc -l <"$TMP/$tag.blocks") blocks), no raw HTML, link or image"
}

run exact
run sampled MEMSCOPE_SAMPLE=1k

# the tool (libc malloc, cmark linked) writes the same bytes from x.bin
if [ -x "$MEMSCOPE_TOOL" ] && "$MEMSCOPE_TOOL" report --help >/dev/null 2>&1; then
    for tag in exact sampled; do
        "$MEMSCOPE_TOOL" report "$TMP/$tag/x.bin" --format md -o "$TMP/$tag.tool.md" ||
            ms_fail "$tag: memscope report --format md failed"
        cmp -s "$TMP/$tag/x.md" "$TMP/$tag.tool.md" ||
            ms_fail "$tag: memscope report x.bin --format md differs from the library's x.md"
    done
    echo "ok: memscope report writes the same x.md from x.bin"
else
    echo "note: $MEMSCOPE_TOOL has no report command: tool check not run"
fi

PYTHONPATH=$REPO/tests/data "$PY" - "$TMP" <<'EOF'
import msjson, sys

tmp = sys.argv[1]
fails = []

def check(ok, what):
    if not ok:
        fails.append(what)

def load(tag):
    d = msjson.load(f"{tmp}/{tag}/x.json")
    blocks = []
    for line in open(f"{tmp}/{tag}.blocks", encoding="utf-8"):
        kind, depth, text = line.rstrip("\n").split("\t", 2)
        blocks.append((kind, int(depth), text))
    return d, blocks

def section(blocks, title):
    """The blocks under the level-2 heading `title`."""
    out, inside = [], False
    for b in blocks:
        if b[0] == "H" and b[1] <= 2:
            inside = b[1] == 2 and b[2].startswith(title)
            continue
        if inside:
            out.append(b)
    check(inside or out, f"section {title!r} missing")
    return out

def has(blocks, text, kind=None):
    return any(text in b[2] and (kind is None or b[0] == kind) for b in blocks)

def human_bytes(n):
    return f"{n} B"

# ---- exact mode -------------------------------------------------------------
d, blocks = load("exact")
s = d["summary"]
heads = [(b[1], b[2]) for b in blocks if b[0] == "H"]
want = ["Totals", "Top sites by live bytes", "Top sites by allocated bytes",
        "Leaks", "Heap errors", "Threads", "Tasks", "Temporaries", "Fragmentation",
        "Tracer overhead"]
check(heads[0] == (1, "memscope report: " + d["program"]), f"title heading: {heads[0]}")
check([h for l, h in heads if l == 1] == ["memscope report: " + d["program"]],
      "exactly one level-1 heading (a name must not make one)")
check([h for l, h in heads if l == 2] == want,
      f"level-2 headings {[h for l, h in heads if l == 2]}, want {want}")

tot = section(blocks, "Totals")
check(has(tot, f"Allocations: {s['allocs']}"), "allocs")
check(has(tot, f"Frees: {s['frees']}"), "frees")
check(has(tot, f"Reallocations: {s['reallocs']}"), "reallocs")
check(has(tot, f"Bytes allocated: {s['bytes_allocated']} B"), "bytes allocated")
check(has(tot, f"Live: {s['live_bytes']} B"), "live bytes")
check(has(tot, f"in {s['live_blocks']} blocks"), "live blocks")
check(has(tot, f"Peak live: {s['peak_live_bytes']} B"), "peak")

# the program's own sites, by function
def site_of(fn):
    for st in d["sites"]:
        for f in st["frames"]:
            if f and f["function"] == fn:
                return st
    fails.append(f"JSON has no site in {fn}")
    return None

alpha, beta, gamma, named = (site_of(f) for f in
                             ("alpha_alloc", "beta_alloc", "gamma_temp", "named_buffer"))
check(alpha and alpha["live_blocks"] == 8 and alpha["live_bytes"] == 8 * 4096, "alpha in JSON")
check(beta and beta["live_blocks"] == 5 and beta["live_bytes"] == 5 * 1000, "beta in JSON")

top_live = section(blocks, "Top sites by live bytes")
for fn, st in (("alpha_alloc", alpha), ("beta_alloc", beta), ("named_buffer", named)):
    check(has(top_live, f"{fn} at tests/programs/report_prog.c:"), f"{fn} in top live sites")
    check(has(top_live, f"live {st['live_bytes']} B"), f"{fn}'s live bytes")
check(has(top_live, "beta_alloc at") and has(top_live, "called from worker at"), "beta's caller")
check(not has(top_live, "gamma_temp"), "gamma_temp holds nothing live")
top_bytes = section(blocks, "Top sites by allocated bytes")
check(has(top_bytes, "gamma_temp at") and has(top_bytes, f"allocated {gamma['bytes']} B"),
      "gamma_temp in top allocated sites")

lk = section(blocks, "Leaks")
check(has(lk, f"{s['live_blocks']} blocks, {s['live_bytes']} B"), "leak totals")
check(has(lk, f"still live at exit in {len(d['leaks'])} sites"), "leak site count")
for leak in d["leaks"][:20]:
    # md names a leak by its first frame that is not an allocator (inlined
    # wrappers such as ld.so's calloc included)
    fn = next((f["function"] for f in leak["frames"] if f and f["function"] and
               f["function"] not in ("malloc", "calloc", "realloc", "free", "strdup")), None)
    check(any(b[0] == "H" and b[2].startswith(f"{leak['bytes']} B") and
              f"in {leak['blocks']} block" in b[2] and (fn is None or f" from {fn}" in b[2])
              for b in lk), f"leak heading for site {leak['site']} ({fn})")
var = d["variables"][0]
shown = var["name"].replace("\n", "\\n")
check(has(lk, "Variables: " + shown), "leaked variable's name, escaped newline")
check(has(lk, shown + " (char *, 256 B) made in named_buffer at tests/programs/report_prog.c:"),
      "leaked variable line")
check(has(lk, "owners: named_buffer -> owner_two"), "owner history")
check(has(lk, "#0  alpha_alloc  tests/programs/report_prog.c:", "C"), "alpha's stack")

th = section(blocks, "Threads")
for t in d["threads"]:
    check(has(th, f"{t['name']} (thread {t['id']}, tid {t['tid']}") and
          has(th, f"{t['allocs']} allocations, {t['frees']} frees"), f"thread {t['name']}")
check({t["name"] for t in d["threads"]} >= {"main-thread", "worker-1"}, "thread names in JSON")

tk = section(blocks, "Tasks")
root, child = d["tasks"]
check(("P", 1) == next(((b[0], b[1]) for b in tk if b[2].startswith(root["name"] + " (task 1")), None),
      "root task at depth 1")
check(("P", 2) == next(((b[0], b[1]) for b in tk if b[2].startswith(child["name"] + " (task 2")), None),
      "child task '<script>...' nested at depth 2, as text")
check(has(tk, f"live {root['live_bytes']} B"), "root task's live bytes")

tp = section(blocks, "Temporaries")
total = sum(st["temporaries"] for st in d["sites"])
check(has(tp, f"next allocation: {total}."), "temporaries total")
check(has(tp, f"{gamma['temporaries']} temporaries of {gamma['allocs']} allocations"), "gamma's temporaries")

al = d["allocator"]
fr = section(blocks, "Fragmentation")
for k in ("allocated", "active", "resident", "mapped", "retained"):
    v = al[k]
    check(has(fr, f"{k.capitalize()}: " + (f"{v} B" if v is not None else "not measured")), f"je {k}")
if al["fragmentation"] is not None:
    check(has(fr, f"{100 * al['fragmentation']:.1f}%"), "fragmentation %")
ov = section(blocks, "Tracer overhead")
check(has(ov, f"Tracer memory: {s['tracer_overhead_bytes']} B"), "tracer overhead")
check(has(ov, f"Side table: {s['table_bytes']} B") and has(ov, f"for {s['tracked_blocks']} tracked blocks"),
      "side table")

# ---- sampled mode: per-site figures say they are estimates -------------------
d, blocks = load("sampled")
heads = [b[2] for b in blocks if b[0] == "H" and b[1] == 2]
check("Top sites by live bytes (estimates)" in heads and
      "Top sites by allocated bytes (estimates)" in heads, f"sampled headings: {heads}")
check(has(blocks, "per-site figures are estimates"), "sampled mode stated")
check(has(section(blocks, "Top sites by live bytes"), "live ~"), "estimates marked ~")
check(has(section(blocks, "Totals"), f"Allocations: {d['summary']['allocs']}"), "sampled totals exact")

if fails:
    print("FAIL:", *fails, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print("ok: headings, totals, sites, leaks, threads, task tree, temporaries, "
      "fragmentation and overhead match x.json; sampled figures marked")
EOF

cc -std=gnu11 -O1 -Wall -Wextra -Werror -D_GNU_SOURCE -I"$REPO/include" -o "$TMP/md_names" \
    "$REPO/tests/tools/md_names.c" "$REPO/exporters/md.c" "$REPO/exporters/md_out.c" \
    "$REPO/exporters/writer.c" "$REPO/exporters/report.c" "$REPO/cli/xalloc.c" ||
    ms_fail "cannot build tests/tools/md_names.c"
"$TMP/md_names" "$TMP/names.md" >"$TMP/names.hex" || ms_fail "md_names failed"
"$TMP/md_check" "$TMP/names.md" >"$TMP/names.blocks" 2>"$TMP/names.check" ||
    ms_fail "hostile names: md_check: $(cat "$TMP/names.check")"
"$PY" - "$TMP" <<'EOF'
import sys

tmp = sys.argv[1]
fails = []
names = [bytes.fromhex(l.strip()) for l in open(f"{tmp}/names.hex")]
blocks = [l.rstrip("\n").split("\t", 2) for l in open(f"{tmp}/names.blocks", encoding="utf-8", newline="\n")]

def shown(b):
    """What md.c promises a reader sees for the name b (see put_safe)."""
    out, i, stop = [], 0, min(len(b), 200)
    while i < stop:
        c = b[i]
        n = 1 if c < 0x80 else 2 if c & 0xE0 == 0xC0 else 3 if c & 0xF0 == 0xE0 else 4 if c & 0xF8 == 0xF0 else 0
        try:
            ch = b[i:i + n].decode("utf-8") if n and i + n <= len(b) else None
        except UnicodeDecodeError:
            ch = None
        if ch is None:
            out.append("\ufffd")
            i += 1
            continue
        cp = ord(ch)
        if cp < 0x20 or cp == 0x7F:
            out.append({10: "\\n", 13: "\\r", 9: "\\t"}.get(cp, "\\x%02x" % cp))
        elif 0x80 <= cp <= 0x9F or 0x202A <= cp <= 0x202E or 0x2066 <= cp <= 0x2069 or cp in (0x2028, 0x2029):
            out.append("\ufffd")
        else:
            out.append(ch)
        i += n
    return "".join(out) + ("..." if stop < len(b) else "")

def find(pred, what):
    if not any(pred(k, int(d), t) for k, d, t in blocks):
        fails.append(what)

h1 = [t for k, d, t in blocks if k == "H" and d == "1"]
if h1 != ["memscope report: " + shown(names[0])]:
    fails.append(f"level-1 headings: {h1}")
h2 = [t for k, d, t in blocks if k == "H" and d == "2"]
want = ["Totals", "Top sites by live bytes", "Top sites by allocated bytes", "Leaks", "Heap errors",
        "Threads", "Tasks", "Temporaries", "Fragmentation", "Tracer overhead"]
if h2 != want:
    fails.append(f"level-2 headings: {h2}")
for i, b in enumerate(names):
    s = shown(b)
    find(lambda k, d, t: k == "P" and t.startswith(f"{s} (thread {i + 1}, tid {100 + i}"), f"thread name {b!r}")
    if i < 16:
        find(lambda k, d, t: k == "P" and d == i + 1 and t.startswith(f"{s} (task {i + 1},"), f"task name {b!r}")
    find(lambda k, d, t: k == "H" and t.endswith(f" from {s} at {s}:1"), f"leak heading for function {b!r}")
    find(lambda k, d, t: k == "P" and t == "Variables: " + s, f"variable {b!r}")
    find(lambda k, d, t: k == "P" and t.startswith(f"{s} (char *, 8 B) made in fn at f.c:3; owners: {s}"),
         f"leaked variable {b!r}")
    find(lambda k, d, t: k == "C" and t == f"#0  {s}  {s}:1  (prog)", f"stack line {b!r}")
find(lambda k, d, t: k == "P" and t.startswith("Some tasks are not listed: nested deeper than 16"), "deep task note")
s0, s1 = shown(names[0]), shown(names[1])
find(lambda k, d, t: k == "P" and t == "1 found.", "heap error count")
find(lambda k, d, t: k == "P" and d == 1 and t == "double_free of 0xdead0 (in the 64-byte block at 0xdead0) "
     f"on thread 1 at 1.500 ms; allocated with malloc; freed with free free in {s0} at {s0}:1; "
     f"allocation in {s1} at {s1}:1", "heap error line")
if fails:
    print("FAIL:", *fails, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"ok: {len(names)} hostile names shown as text as thread, task, function, file, variable and owner")
EOF
