#!/usr/bin/env bash
# run_many.sh - 50 short processes under `memscope run --follow-children`
# each get every report asked for (issue 14, point 6). A traced process
# writes its .bin at exit and leaves its other formats to the tool, which
# writes them from each .bin when the program it ran ends (export.c, run.c):
#  - a shell runs tests/programs/tracer_simple 50 times (it leaks 8
#    blocks, 828 bytes; stdout's 4 KiB buffer is live at exit too): 50
#    report sets, each with exactly the formats asked, named PROGRAM-PID
#    as before; every JSON is that process's exit report (its pid, its
#    program, its live blocks) and json, md and html are what `memscope
#    report` makes of the .bin, byte for byte;
#  - without bin in --formats the .bin files are the tool's and gone at the
#    end; the summary counts 50 processes (one each, not one per file) and
#    lists the first ten sets with the formats written;
#  - a process that ends after `memscope run` has ended (nobody left to
#    write its formats) writes them all itself;
#  - the tool writes a process's formats while the program it ran goes on.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /bin/sh /usr/bin/python3
[ -x "$MEMSCOPE_TOOL" ] || ms_fail "$MEMSCOPE_TOOL not built (run make)"
P=$(ms_prog tracer_simple)
ms_setup run_many
unset MEMSCOPE_NAME MEMSCOPE_CHILDREN MEMSCOPE_ROOT_PID MEMSCOPE_FORMATS \
    MEMSCOPE_RUN_LOG MEMSCOPE_SYMBOL_CACHE MEMSCOPE_TEST_MODE
export MEMSCOPE_SAMPLE=0
N=50
LOOP="i=0; while [ \$i -lt $N ]; do $P >/dev/null; i=\$((i+1)); done"

# check DIR EXTS [KEEPS_BIN]: $N report sets of tracer_simple in DIR, each
# with exactly the extensions EXTS (comma-separated), each JSON its
# process's exit report
check() {
    /usr/bin/python3 - "$@" <<'PY'
import json, os, sys
d, exts = sys.argv[1], set(sys.argv[2].split(","))
sets = {}
for f in os.listdir(d):
    base, ext = f.split(".", 1)
    sets.setdefault(base, set()).add(ext)
fails = []
mine = sorted(b for b in sets if b.startswith("tracer_simple-"))
if len(mine) != 50:
    fails.append(f"{len(mine)} report sets of tracer_simple, want 50")
# the shell's own, when its exit writes one (dash's _exit writes none)
others = sorted(b for b in set(sets) - set(mine) if not b.startswith("sh-"))
if others:
    fails.append(f"reports of other processes: {others[:5]}")
for b in mine:
    if sets[b] != exts:
        fails.append(f"{b}: {sorted(sets[b])}, want {sorted(exts)}")
        continue
    try:
        r = json.load(open(f"{d}/{b}.json"))
    except Exception as e:
        fails.append(f"{b}.json: not complete JSON: {e}")
        continue
    s = r.get("summary", {})
    got = (str(r.get("pid")), r.get("program"), r.get("trigger"),
           s.get("live_blocks"), s.get("live_bytes"))
    want = (b.rsplit("-", 1)[1], "tracer_simple", "exit", 9, 4924)
    if got != want:
        fails.append(f"{b}.json: pid, program, trigger, live blocks, bytes {got}, want {want}")
if fails:
    sys.exit("FAIL: " + "; ".join(fails[:6]))
print(f"ok: {d}: 50 report sets, each {','.join(sorted(exts))}")
PY
}

# 1. bin kept (the default formats): every other format is its .bin's
OUT1=$TMP/one
rc=0
"$MEMSCOPE_TOOL" run -q --follow-children -o "$OUT1" -- /bin/sh -c "$LOOP" \
    >"$TMP/one.out" 2>"$TMP/one.err" || rc=$?
[ "$rc" = 0 ] || ms_fail "run 1: exit status $rc: $(head -3 "$TMP/one.err")"
[ ! -s "$TMP/one.err" ] || ms_fail "run 1 -q wrote to stderr: $(head -3 "$TMP/one.err")"
check "$OUT1" bin,json,md,html
n=0
for b in "$OUT1"/*.bin; do
    base=${b%.bin}
    for f in json md html; do
        "$MEMSCOPE_TOOL" report "$b" --format $f >"$TMP/again" ||
            ms_fail "memscope report $b --format $f failed"
        cmp -s "$TMP/again" "$base.$f" ||
            ms_fail "$base.$f is not what memscope report makes of its .bin"
    done
    n=$((n + 1))
    [ $n -lt 5 ] || break       # five sets are enough for the bytes
done
echo "ok: json, md and html of $n sets are their .bin's, byte for byte"

# 2. formats without bin, with the summary: the .bin files are gone
OUT2=$TMP/two
rc=0
"$MEMSCOPE_TOOL" run --follow-children --formats json,md,folded,text -o "$OUT2" \
    -- /bin/sh -c "$LOOP" >"$TMP/two.out" 2>"$TMP/two.err" || rc=$?
[ "$rc" = 0 ] || ms_fail "run 2: exit status $rc: $(head -3 "$TMP/two.err")"
check "$OUT2" json,md,folded,txt
grep -qx "memscope: $N other processes traced:" "$TMP/two.err" ||
    ms_fail "run 2: no '$N other processes traced' in the summary: $(head -5 "$TMP/two.err")"
listed=$(grep -c "^memscope:   $OUT2/tracer_simple-[0-9]*\.{json,md,folded,txt}\$" "$TMP/two.err" || true)
[ "$listed" = 10 ] ||
    ms_fail "run 2: the summary lists $listed sets as {json,md,folded,txt}, want the first 10: $(sed -n 2,4p "$TMP/two.err")"
grep -q "and 40 more, in the same directory" "$TMP/two.err" ||
    ms_fail "run 2: the summary does not count the 40 sets it does not list"
echo "ok: the summary lists the sets with the formats written, no .bin"

# 3. a process that ends after memscope run: all its formats, by itself
OUT3=$TMP/three
rc=0
"$MEMSCOPE_TOOL" run -q --follow-children --formats json,md -o "$OUT3" -- /bin/sh -c \
    "(while [ ! -e '$TMP/go' ]; do sleep 0.05; done; exec $P >/dev/null) & exit 0" \
    >"$TMP/three.out" 2>"$TMP/three.err" </dev/null || rc=$?
[ "$rc" = 0 ] || ms_fail "run 3: exit status $rc: $(head -3 "$TMP/three.err")"
touch "$TMP/go"
for _ in $(seq 1 400); do
    ls "$OUT3"/tracer_simple-*.md >/dev/null 2>&1 && break
    sleep 0.05
done
sleep 0.2       # its files are renamed into place one after the other
set -- "$OUT3"/tracer_simple-*
exts=$(for f in "$@"; do f=${f##*/}; echo "${f#*.}"; done | sort | tr '\n' ' ')
case $exts in
"json md " | "bin json md ") ;;      # and the .bin the tool asked for
*) ms_fail "run 3: the late process wrote '$exts', want its json and md" ;;
esac
/usr/bin/python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$OUT3"/tracer_simple-*.json ||
    ms_fail "run 3: its JSON is not complete"
echo "ok: a process ending after memscope run writes its formats itself"

# 4. the tool writes a process's formats while the program it ran goes on:
# the shell waits (20 s at most) for its child's json before it ends
OUT4=$TMP/four
rc=0
"$MEMSCOPE_TOOL" run -q --follow-children --formats json,md -o "$OUT4" -- /bin/sh -c \
    "$P >/dev/null; i=0; while [ \$i -lt 400 ] && ! ls '$OUT4'/tracer_simple-*.json >/dev/null 2>&1; do sleep 0.05; i=\$((i+1)); done; [ \$i -lt 400 ]" \
    >"$TMP/four.out" 2>"$TMP/four.err" </dev/null || rc=$?
[ "$rc" = 0 ] || ms_fail "run 4: the child's json did not appear while the shell ran (exit status $rc)"
echo "ok: a process's formats are written while the program goes on"
