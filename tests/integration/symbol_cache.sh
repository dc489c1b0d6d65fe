#!/usr/bin/env bash
# symbol_cache.sh - MEMSCOPE_SYMBOL_CACHE (issue 14, point 6): names of
# return addresses kept across processes by module build ID.
# tests/programs/cxx_containers (C++: demangled names, inlined frames) is
# traced without a cache, then twice with one empty directory:
#  - the frames of all three JSON reports are the same (function, file,
#    line, module, offset, inlined; the address moves with ASLR);
#  - the first run with the cache loads libdw and fills the directory
#    (one file per build ID); the second loads no libdw (LD_DEBUG=files)
#    and adds no line;
#  - a cache file with garbage lines is skipped where it does not parse:
#    the report is the same again.
# `memscope run` gives each run such a directory, removed at the end.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup symbol_cache
P=$PROGS/cxx_containers
export MEMSCOPE_SAMPLE=0 MEMSCOPE_FORMATS=json MEMSCOPE_TEST_MODE=1
unset MEMSCOPE_NAME MEMSCOPE_SYMBOL_CACHE
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

traced none
traced cold MEMSCOPE_SYMBOL_CACHE="$C"
loads_libdw cold || ms_fail "the cold run did not load libdw (test is broken?)"
n_files=$(ls "$C" | wc -l)
[ "$n_files" -ge 2 ] || ms_fail "the cache holds $n_files files, want one per module (2 or more)"
lines=$(cat "$C"/* | wc -l)
traced warm MEMSCOPE_SYMBOL_CACHE="$C"
loads_libdw warm && ms_fail "the warm run loaded libdw: $(cat "$TMP"/warm.ld.* | grep libdw | head -2)"
[ "$(cat "$C"/* | wc -l)" = "$lines" ] || ms_fail "the warm run added lines to the cache"
echo "ok: cold run: libdw, $n_files files, $lines lines; warm run: no libdw, nothing added"
# garbage in every file: lines that do not parse, one cut short at the end
for f in "$C"/*; do
    printf 'zz\tnot\tan\toffset\n0\n1\t\t\n%s' "5	a	b" >>"$f"
done
traced junk MEMSCOPE_SYMBOL_CACHE="$C"

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
for tag in ("cold", "warm", "junk"):
    got = frames(tag)
    if got != base:
        a, b = set(base), set(got)
        sys.exit(f"FAIL: {tag}: frames differ from the run without a cache: only without: {sorted(a - b)[:2]}, only with: {sorted(b - a)[:2]}, {len(base)} vs {len(got)} frames")
print(f"ok: the same {len(base)} frames ({named} named, {inl} inlined) with and without the cache, and with garbage in it")
PY

# memscope run: its cache directory is gone at the end
count_rundirs() { find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'memscope-run.*' 2>/dev/null | wc -l; }
before=$(count_rundirs)
"$MEMSCOPE_TOOL" run -q -o "$TMP/run" -- "$P" >/dev/null
after=$(count_rundirs)
[ "$after" -le "$before" ] || ms_fail "memscope run left its directory behind"
echo "ok: memscope run removes its symbol cache"
