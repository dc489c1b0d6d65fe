#!/usr/bin/env bash
# symbol_cache.sh - MEMSCOPE_SYMBOL_CACHE (issue 14, point 6): names of
# return addresses kept across processes and runs, by module build ID and
# the identity of the module's debug files.
# tests/programs/cxx_containers (C++: demangled names, inlined frames) is
# traced without a cache (none), then twice with one empty directory:
#  - the frames of all the JSON reports are the same (function, file,
#    line, module, offset, inlined; the address moves with ASLR);
#  - the first run with the cache loads libdw and fills the directory
#    (one file per module); the second loads no libdw (LD_DEBUG=files)
#    and adds no line;
#  - a cache file with garbage lines is skipped where it does not parse:
#    the report is the same again.
#  - a file past 16 MB is replaced by the lines used, named the same.
# Then:
#  - unset, the cache is $XDG_CACHE_HOME/memscope/symbols, else
#    $HOME/.cache/memscope/symbols (made 0700); none or empty: no cache;
#    a HOME where nothing can be made: libdw, nothing said, same report;
#  - never stale: a copy of the program whose DWARF is in a separate file
#    next to it (objcopy --only-keep-debug, .gnu_debuglink) is named with
#    its file:line; once the debug file is gone, a warm cache must give
#    what libdw says now (no file:line), and back with it;
#  - memscope run uses the default cache;
#  - pruned: a process that makes a new file removes the cache's files
#    unused for 30 days and temporary files over an hour old, and nothing
#    else in the directory; a file read when its mtime is over a day old
#    is touched (so a file in use is never pruned).
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup symbol_cache
P=$PROGS/cxx_containers
export MEMSCOPE_SAMPLE=0 MEMSCOPE_FORMATS=json MEMSCOPE_TEST_MODE=1
unset MEMSCOPE_NAME MEMSCOPE_SYMBOL_CACHE
export XDG_CACHE_HOME=$TMP/xdg
C=$TMP/cache
mkdir "$C"

# traced TAG [VAR=VALUE...]: one run, its report in $TMP/TAG, the dynamic
# linker's file log in $TMP/TAG.ld.*
traced() {
    local tag=$1
    shift
    env "$@" LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_OUT="$TMP/$tag" \
        LD_DEBUG=files LD_DEBUG_OUTPUT="$TMP/$tag.ld" "$P" >"$TMP/$tag.out" 2>&1 ||
        ms_fail "$tag: exit status $?: $(head -3 "$TMP/$tag.out")"
}
loads_libdw() { cat "$TMP/$1".ld.* | grep -q "file=libdw.so"; }

traced none MEMSCOPE_SYMBOL_CACHE=none
loads_libdw none || ms_fail "the run without a cache did not load libdw (test is broken?)"
[ ! -e "$XDG_CACHE_HOME" ] || ms_fail "MEMSCOPE_SYMBOL_CACHE=none made $XDG_CACHE_HOME"
traced empty MEMSCOPE_SYMBOL_CACHE=
[ ! -e "$XDG_CACHE_HOME" ] || ms_fail "MEMSCOPE_SYMBOL_CACHE= (empty) made $XDG_CACHE_HOME"
grep -q "MEMSCOPE_SYMBOL_CACHE" "$TMP/empty.out" && ms_fail "MEMSCOPE_SYMBOL_CACHE= warned: $(cat "$TMP/empty.out")"
echo "ok: none and empty: no cache"
traced cold MEMSCOPE_SYMBOL_CACHE="$C"
loads_libdw cold || ms_fail "the cold run did not load libdw (test is broken?)"
n_files=$(ls "$C" | wc -l)
[ "$n_files" -ge 2 ] || ms_fail "the cache holds $n_files files, want one per module (2 or more)"
# the name files (BUILDID-KEY); BUILDID-KEY.debug are uncompressed copies
# of debug files (symbol_cache_plain.sh)
names() { ls "$C"/* | grep -v '\.debug$'; }
lines=$(cat $(names) | wc -l)
traced warm MEMSCOPE_SYMBOL_CACHE="$C"
loads_libdw warm && ms_fail "the warm run loaded libdw: $(cat "$TMP"/warm.ld.* | grep libdw | head -2)"
[ "$(cat $(names) | wc -l)" = "$lines" ] || ms_fail "the warm run added lines to the cache"
echo "ok: cold run: libdw, $n_files files, $lines lines; warm run: no libdw, nothing added"
# garbage in every file: lines that do not parse, one cut short at the end
for f in $(names); do
    printf 'zz\tnot\tan\toffset\n0\n1\t\t\n%s' "5	a	b" >>"$f"
done
traced junk MEMSCOPE_SYMBOL_CACHE="$C"
# a file past the limit (16 MB) is replaced by the lines used, not grown:
# the biggest loses its first lines (named again) and gains 17 MB of junk
big=$(ls -S "$C" | grep -v '\.debug$' | head -1)
tail -n +4 "$C/$big" >"$TMP/big"
/usr/bin/python3 -c 'import sys; sys.stdout.write("zz\tjunk\t\t0\n" * 1700000)' >>"$TMP/big"
mv "$TMP/big" "$C/$big"
traced big MEMSCOPE_SYMBOL_CACHE="$C"
size=$(stat -c %s "$C/$big")
[ "$size" -lt 1000000 ] || ms_fail "a cache file of 17 MB was not replaced (now $size bytes)"
ls -a "$C" | grep -q tmp && ms_fail "a temporary file left in the cache: $(ls -a "$C")"
traced bigwarm MEMSCOPE_SYMBOL_CACHE="$C"
loads_libdw bigwarm && ms_fail "after its replacement, the file does not name what it did"
echo "ok: a cache file past 16 MB is replaced ($size bytes now), and names all it did"

/usr/bin/python3 - "$TMP" <<'PY'
import glob, json, sys
tmp = sys.argv[1]
def frames(tag):
    (path,) = glob.glob(f"{tmp}/{tag}/*.json")
    r = json.load(open(path))
    # the frame table (or the frames of each site, in older reports)
    fr = r.get("frames")
    if fr is None:
        fr = [f for s in r["sites"] for f in s["frames"]]
    # as a sorted list: the order of sites follows the threads' timing
    return sorted(json.dumps({k: v for k, v in (f or {}).items() if k != "address"},
                             sort_keys=True) for f in fr)
base = frames("none")
named = sum(1 for f in base if json.loads(f).get("function"))
inl = sum(1 for f in base if json.loads(f).get("inlined"))
if named < 10:
    sys.exit(f"FAIL: only {named} named frames without the cache (test is broken?)")
for tag in ("cold", "warm", "junk", "big", "bigwarm"):
    got = frames(tag)
    if got != base:
        a, b = set(base), set(got)
        sys.exit(f"FAIL: {tag}: frames differ from the run without a cache: only without: {sorted(a - b)[:2]}, only with: {sorted(b - a)[:2]}, {len(base)} vs {len(got)} frames")
print(f"ok: the same {len(base)} frames ({named} named, {inl} inlined) with and without the cache, and with garbage in it")
PY

# the default place: XDG_CACHE_HOME, else HOME/.cache; warm there too
traced xdg
D=$XDG_CACHE_HOME/memscope/symbols
[ "$(ls "$D" | wc -l)" = "$n_files" ] || ms_fail "unset: $D holds $(ls "$D" 2>/dev/null | wc -l) files, want $n_files"
[ "$(stat -c %a "$XDG_CACHE_HOME/memscope")/$(stat -c %a "$D")" = 700/700 ] ||
    ms_fail "the default cache directories are not 0700"
traced xdgwarm
loads_libdw xdgwarm && ms_fail "the warm run in the default cache loaded libdw"
mkdir "$TMP/home"
traced home -u XDG_CACHE_HOME HOME="$TMP/home"
[ "$(ls "$TMP/home/.cache/memscope/symbols" | wc -l)" = "$n_files" ] ||
    ms_fail "no XDG_CACHE_HOME: not in HOME/.cache/memscope/symbols"
traced homewarm -u XDG_CACHE_HOME HOME="$TMP/home"
loads_libdw homewarm && ms_fail "the warm run in HOME/.cache loaded libdw"
# a HOME nothing can be made in (a file: even root cannot): names from
# libdw, nothing said
echo >"$TMP/homefile"
traced rohome -u XDG_CACHE_HOME HOME="$TMP/homefile"
cmp -s "$TMP/none.out" "$TMP/rohome.out" ||
    ms_fail "an unwritable HOME: the output differs: $(diff "$TMP/none.out" "$TMP/rohome.out" | head -3)"
echo "ok: an unwritable HOME: no cache, nothing said"
echo "ok: unset: the cache is XDG_CACHE_HOME/memscope/symbols, else HOME/.cache/memscope/symbols (0700), warm there"

/usr/bin/python3 - "$TMP" <<'PY'
import glob, json, sys
tmp = sys.argv[1]
def frames(tag):
    (path,) = glob.glob(f"{tmp}/{tag}/*.json")
    r = json.load(open(path))
    fr = r.get("frames")
    if fr is None:
        fr = [f for s in r["sites"] for f in s["frames"]]
    return sorted(json.dumps({k: v for k, v in (f or {}).items() if k != "address"},
                             sort_keys=True) for f in fr)
base = frames("none")
for tag in ("empty", "xdg", "xdgwarm", "home", "homewarm", "rohome"):
    if frames(tag) != base:
        sys.exit(f"FAIL: {tag}: frames differ from the run without a cache")
print("ok: the same frames in the default places, cold and warm")
PY

# never stale: the program's DWARF in a separate file next to it, then gone
ms_need objcopy
mkdir "$TMP/split"
S=$TMP/split/cxx_containers
cp "$P" "$S"
objcopy --only-keep-debug "$S" "$S.debug"
objcopy --strip-debug --add-gnu-debuglink="$S.debug" "$S"
P=$S
export MEMSCOPE_SYMBOL_CACHE=$TMP/split-cache
traced dbg-none MEMSCOPE_SYMBOL_CACHE=none
traced dbg-cold
traced dbg-warm
loads_libdw dbg-warm && ms_fail "split debug file: the warm run loaded libdw"
mv "$S.debug" "$TMP/kept.debug"
traced nodbg-none MEMSCOPE_SYMBOL_CACHE=none
traced nodbg
traced nodbg-warm
mkdir "$TMP/split/.debug"
mv "$TMP/kept.debug" "$TMP/split/.debug/cxx_containers.debug"
traced subdbg
unset MEMSCOPE_SYMBOL_CACHE
/usr/bin/python3 - "$TMP" "$S" <<'PY'
import glob, json, sys
tmp, prog = sys.argv[1], sys.argv[2]
def frames(tag):
    (path,) = glob.glob(f"{tmp}/{tag}/*.json")
    r = json.load(open(path))
    fr = r.get("frames")
    if fr is None:
        fr = [f for s in r["sites"] for f in s["frames"]]
    return sorted(json.dumps({k: v for k, v in (f or {}).items() if k != "address"},
                             sort_keys=True) for f in fr)
def lines_in_prog(fr):
    return sum(1 for f in map(json.loads, fr) if f.get("module") == prog and f.get("line"))
with_dbg, without = frames("dbg-none"), frames("nodbg-none")
if lines_in_prog(with_dbg) < 5:
    sys.exit(f"FAIL: the split program has {lines_in_prog(with_dbg)} frames with a line (test is broken?)")
if lines_in_prog(without) != 0:
    sys.exit("FAIL: without its debug file the program still has lines (test is broken?)")
for tag, want in (("dbg-cold", with_dbg), ("dbg-warm", with_dbg), ("nodbg", without),
                  ("nodbg-warm", without), ("subdbg", with_dbg)):
    if frames(tag) != want:
        sys.exit(f"FAIL: {tag}: the frames are not what libdw says now (a stale cache?): "
                 f"{lines_in_prog(frames(tag))} frames of the program with a line, want {lines_in_prog(want)}")
print(f"ok: the debug file there, gone, back in .debug/: the cache follows ({lines_in_prog(with_dbg)} frames with a line, then 0)")
PY
loads_libdw nodbg || ms_fail "the debug file gone: the run did not load libdw (the key did not change)"

# memscope run: the default cache, kept
rm -rf "$XDG_CACHE_HOME"
"$MEMSCOPE_TOOL" run -q -o "$TMP/run" -- "$PROGS/cxx_containers" >/dev/null
[ "$(ls "$XDG_CACHE_HOME/memscope/symbols" | wc -l)" = "$n_files" ] ||
    ms_fail "memscope run did not fill the default cache"
echo "ok: memscope run uses the default cache"

# pruning: files unused 30 days go when a new file is made, nothing else
P2=$TMP/prune
mkdir "$P2"
traced prune1 MEMSCOPE_SYMBOL_CACHE="$P2"
used=$(ls "$P2" | head -1)
[ -n "$used" ] || ms_fail "prune: the first run made no cache file"
touch -d '2 days ago' "$P2/$used"
old=00112233445566778899aabbccddeeff00112233-0123456789abcdef
recent=ffeeddccbbaa99887766554433221100ffeeddcc-fedcba9876543210
tmpf=.00112233445566778899aabbccddeeff00112233-0123456789abcdef.tmp.4242
for f in "$old" "$recent" "$tmpf" notes.txt 0011-22; do echo x >"$P2/$f"; done
touch -d '40 days ago' "$P2/$old" "$P2/notes.txt" "$P2/0011-22"
touch -d '20 days ago' "$P2/$recent"
touch -d '2 hours ago' "$P2/$tmpf"
# the warm run reads the used file (touched) and makes no new file: no pruning
traced prune2 MEMSCOPE_SYMBOL_CACHE="$P2"
[ -e "$P2/$old" ] || ms_fail "prune: a run that made no new file pruned"
[ "$(( $(date +%s) - $(stat -c %Y "$P2/$used") ))" -lt 3600 ] ||
    ms_fail "prune: a cache file read 2 days after its last write was not touched"
# a new file: a program not seen before (another build of the same one)
cc -O1 -g -o "$TMP/prune_prog" -x c - <<'CEOF'
#include <stdio.h>
#include <stdlib.h>
int main(void) { char *p = malloc(100); if (!p) return 1; snprintf(p, 100, "x"); puts(p); free(p); return 0; }
CEOF
env LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_OUT="$TMP/prune3" MEMSCOPE_SYMBOL_CACHE="$P2" \
    "$TMP/prune_prog" >/dev/null || ms_fail "prune: the new program failed"
[ ! -e "$P2/$old" ] || ms_fail "prune: a file unused for 40 days was kept"
[ ! -e "$P2/$tmpf" ] || ms_fail "prune: a temporary file of 2 hours was kept"
for f in "$recent" notes.txt 0011-22 "$used"; do
    [ -e "$P2/$f" ] || ms_fail "prune: $f was removed"
done
echo "ok: pruned: a file unused 40 days and an old temporary file; kept: one of 20 days, one in use, other names"
