#!/usr/bin/env bash
# run_summary.sh - the summary `memscope run` prints when the program ends
# (issue 14, point 2), read against the JSON report of the same run:
#  - tests/programs/leak_classes (a block of each leak class) under
#    `memscope run --formats json,md`: the summary is on stderr only (the
#    program's stdout is its own, byte for byte), and its duration,
#    allocations, frees, reallocs, bytes, peak live heap, leaked blocks
#    and bytes, each leak class, the top three leak sites (bytes, blocks,
#    class, function), temporaries and heap errors equal the JSON's; it
#    names the report files, which exist (and no .bin: the one the tool
#    added for itself is gone), and the command to re-render them;
#  - tests/programs/rel_heaperr all (eight heap errors): the summary's
#    heap errors equal the JSON's;
#  - the program's exit status is the tool's (sh -c 'exit 7'; a program
#    killed by SIGTERM: the tool dies of SIGTERM too);
#  - -q: nothing on stderr.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
[ -x "$MEMSCOPE_TOOL" ] || ms_fail "$MEMSCOPE_TOOL not built (run make)"
ms_setup run_summary
export MEMSCOPE_SAMPLE=0 MEMSCOPE_TEST_MODE=1
unset MEMSCOPE_NAME MEMSCOPE_CHILDREN MEMSCOPE_FORMATS
T=$MEMSCOPE_TOOL

# compare TAG DIR BIN: the summary in $TMP/TAG.err against DIR's one JSON;
# BIN "no": no .bin may be left
compare() {
    /usr/bin/python3 - "$TMP/$1.err" "$2" "$1" "$3" <<'PY'
import glob, json, os, re, sys
err, out, tag, bin_kept = sys.argv[1:5]
text = open(err).read()
fails = []
def grab(pattern, what):
    m = re.search(pattern, text, re.M)
    if not m:
        fails.append(f"no {what} in the summary")
        return None
    return m.groups()
js = glob.glob(f"{out}/*.json")
if len(js) != 1:
    sys.exit(f"{tag}: FAIL: want one JSON report in {out}, got {os.listdir(out)}")
r = json.load(open(js[0]))
s = r["summary"]
head = grab(r"^memscope: (\S+) \(pid (\d+)\) exited with status (\d+) after ([0-9.]+) s, traced in (\w+) mode$", "first line")
if head:
    prog, pid, status, secs, mode = head
    if (prog, int(pid), mode) != (r["program"], r["pid"], r["mode"]):
        fails.append(f"program, pid, mode {head} vs JSON {(r['program'], r['pid'], r['mode'])}")
    if secs != "%.3f" % (r["duration_ns"] / 1e9):
        fails.append(f"duration {secs} s vs JSON {r['duration_ns']} ns")
g = grab(r"allocations: +(\d+) \((\d+) bytes\), (\d+) frees, (\d+) reallocs$", "allocations")
if g and tuple(map(int, g)) != (s["allocs"], s["bytes_allocated"], s["frees"], s["reallocs"]):
    fails.append(f"allocations {g} vs JSON {(s['allocs'], s['bytes_allocated'], s['frees'], s['reallocs'])}")
g = grab(r"peak live heap: +(\d+) bytes", "peak live heap")
if g and int(g[0]) != s["peak_live_bytes"]:
    fails.append(f"peak {g[0]} vs JSON {s['peak_live_bytes']}")
g = grab(r"leaked: +(\d+) blocks, (\d+) bytes", "leaked")
if g and tuple(map(int, g)) != (s["live_blocks"], s["live_bytes"]):
    fails.append(f"leaked {g} vs JSON {(s['live_blocks'], s['live_bytes'])}")
classes = s["leak_classes"]
if classes is not None:
    for name, v in classes.items():
        g = grab(r"^memscope: +%s: +(\d+) blocks, (\d+) bytes$" % name.replace("_", " "), name)
        if g and tuple(map(int, g)) != (v["blocks"], v["bytes"]):
            fails.append(f"{name} {g} vs JSON {v}")
order = ["definitely_lost", "indirectly_lost", "possibly_lost", "still_reachable"]
leaks = sorted(r["leaks"], key=lambda l: (-(len(order) - order.index(l["class"])) if l["class"] else 0, -l["bytes"], l["site"]))
tops = re.findall(r"^memscope: +(\d)\. (\d+) bytes in (\d+) blocks? \(([a-z ]+)\): (\S+)", text, re.M)
if len(tops) != min(3, len(leaks)):
    fails.append(f"{len(tops)} top leak sites, want {min(3, len(leaks))}")
funcs = {}
for site in r["sites"]:
    funcs[site["id"]] = site
for (n, b, k, cls, fn), l in zip(tops, leaks):
    if (int(b), int(k), cls) != (l["bytes"], l["blocks"], (l["class"] or "").replace("_", " ")):
        fails.append(f"leak site {n}: {b} bytes {k} blocks {cls} vs JSON {l['bytes']} {l['blocks']} {l['class']}")
    if fn not in text:
        fails.append(f"leak site {n}: no function")
if r["program"] == "leak_classes":
    want = ["list_head", "lose_one", "list_node"]
    if [t[4] for t in tops] != want:
        fails.append(f"top leak functions {[t[4] for t in tops]}, want {want}")
temps = sum(site["temporaries"] for site in r["sites"])
g = grab(r"temporaries: +(\d+)$", "temporaries")
if g and int(g[0]) != temps:
    fails.append(f"temporaries {g[0]} vs JSON {temps}")
g = grab(r"heap errors: +(\d+)$", "heap errors")
if g and int(g[0]) != s["heap_errors"]:
    fails.append(f"heap errors {g[0]} vs JSON {s['heap_errors']}")
g = grab(r"^memscope: +(/\S+)\.\{([a-z,]+)\}$", "report paths")
if g:
    for ext in g[1].split(","):
        if not os.path.isfile(f"{g[0]}.{ext}"):
            fails.append(f"the summary names {g[0]}.{ext}, which is not there")
    if os.path.realpath(f"{g[0]}.json") != os.path.realpath(js[0]):
        fails.append(f"the summary names {g[0]}, the report is {js[0]}")
if bin_kept == "no" and glob.glob(f"{out}/*.bin"):
    fails.append("a .bin was left, not asked for")
if fails:
    sys.exit(f"{tag}: FAIL: " + "; ".join(fails) + "\n--- summary:\n" + text)
print(f"ok: {tag}: the summary's figures are the JSON's ({s['allocs']} allocations, {s['live_blocks']} leaked blocks, {s['heap_errors']} heap errors)")
PY
}

rc=0
"$T" run -o "$TMP/leaks" --formats json,md -- "$PROGS/leak_classes" \
    >"$TMP/leaks.out" 2>"$TMP/leaks.err" || rc=$?
[ $rc = 0 ] || ms_fail "leak_classes: exit status $rc: $(head -3 "$TMP/leaks.err")"
[ "$(cat "$TMP/leaks.out")" = "leak_classes: done" ] ||
    ms_fail "the program's stdout is not its own: $(head -3 "$TMP/leaks.out")"
compare leaks "$TMP/leaks" no
grep -q "memscope report" "$TMP/leaks.err" &&
    ms_fail "re-render command given for a .bin that is not kept"
echo "ok: no re-render command without a .bin"

rc=0
"$T" run -o "$TMP/herr" --formats json,bin -- "$PROGS/rel_heaperr" all \
    >"$TMP/herr.out" 2>"$TMP/herr.err" || rc=$?
[ $rc = 0 ] || ms_fail "rel_heaperr: exit status $rc: $(head -3 "$TMP/herr.err")"
bins=("$TMP"/herr/*.bin)
grep -qF "memscope report ${bins[0]} " "$TMP/herr.err" ||
    ms_fail "no command to re-render ${bins[0]}: $(tail -3 "$TMP/herr.err")"
compare herr "$TMP/herr" yes

# exit status, and a program killed by a signal
rc=0
"$T" run -o "$TMP/st" -- sh -c 'exit 7' 2>"$TMP/st.err" || rc=$?
[ $rc = 7 ] || ms_fail "sh -c 'exit 7' under memscope run: exit status $rc"
grep -q "exited with status 7" "$TMP/st.err" || ms_fail "the summary lacks the exit status: $(head -2 "$TMP/st.err")"
rc=0
"$T" run -o "$TMP/st" -- sh -c 'kill -TERM $$' 2>"$TMP/sig.err" || rc=$?
[ $rc = 143 ] || ms_fail "a program killed by SIGTERM: memscope run exited $rc, want 143"
grep -q "killed by signal 15" "$TMP/sig.err" || ms_fail "the summary lacks the signal: $(head -2 "$TMP/sig.err")"
echo "ok: exit status 7 and SIGTERM passed through, and said"

# -q: nothing of the tool's
rc=0
"$T" run -q -o "$TMP/quiet" -- "$PROGS/leak_classes" >/dev/null 2>"$TMP/quiet.err" || rc=$?
[ $rc = 0 ] && [ ! -s "$TMP/quiet.err" ] || ms_fail "-q: exit $rc, stderr: $(head -3 "$TMP/quiet.err")"
echo "ok: -q prints nothing"
