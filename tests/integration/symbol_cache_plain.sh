#!/usr/bin/env bash
# symbol_cache_plain.sh - a separate debug file with compressed DWARF
# (Debian's -dbg packages) is read through an uncompressed copy kept in
# the symbol cache, BUILDID-KEY.debug: a process that must name an
# address not cached yet then skips inflating the whole file.
# A copy of tests/programs/cxx_containers with its DWARF moved to a
# zlib-compressed file next to it (.gnu_debuglink):
#  - without a cache: the frames (function, file, line) are libdw's;
#  - cold, with a cache: the same frames; the cache holds one copy for the
#    program's build ID, with no section compressed, whose DWARF reads as
#    the original's (readelf --debug-dump=info,line, file names aside);
#  - the copy is what libdw reads: the cache's name lines removed and a
#    source name changed inside the copy, the report shows the changed
#    name, and the copy is not made again (same inode);
#  - a truncated copy (a writer that died) is made again, the frames right,
#    and old copies are pruned as other cache files;
#  - a debug file that is not compressed gets no copy; nor one that is not
#    the module's (another program's, by the same debuglink name: libdw
#    rejects it too, the frames have no line);
#  - a cache directory that cannot be made: the frames are libdw's.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need objcopy readelf /usr/bin/python3
ms_setup symbol_cache_plain
export MEMSCOPE_SAMPLE=0 MEMSCOPE_FORMATS=json MEMSCOPE_TEST_MODE=1
unset MEMSCOPE_NAME MEMSCOPE_SYMBOL_CACHE

mkdir split
S=$TMP/split/prog
cp "$PROGS/cxx_containers" "$S"
objcopy --only-keep-debug --compress-debug-sections=zlib "$S" "$S.debug"
objcopy --strip-debug --add-gnu-debuglink="$S.debug" "$S"
readelf -SW "$S.debug" 2>/dev/null | grep -q ' \.debug_info .* C ' ||
    ms_fail "objcopy made no compressed .debug_info (test is broken?)"
BID=$(readelf -n "$S" 2>/dev/null | awk '/Build ID/ { print $3 }')
[ -n "$BID" ] || ms_fail "the program has no build ID (test is broken?)"

# traced TAG PROG [VAR=VALUE...]: one run, its report in $TMP/TAG
traced() {
    local tag=$1 prog=$2
    shift 2
    env "$@" LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_OUT="$TMP/$tag" "$prog" \
        >"$TMP/$tag.out" 2>&1 || ms_fail "$tag: exit status $?: $(head -3 "$TMP/$tag.out")"
}
# frames TAG PROG: the program's own frames of TAG's report, one a line
frames() {
    /usr/bin/python3 - "$TMP/$1" "$2" <<'PY'
import glob, json, sys
(path,) = glob.glob(sys.argv[1] + "/*.json")
fr = json.load(open(path))["frames"]
for f in sorted({(f.get("function") or "?", f.get("file") or "?", f.get("line") or 0)
                 for f in fr if f and f.get("module") == sys.argv[2]}):
    print(*f, sep="\t")
PY
}
copies() { ls "$1" 2>/dev/null | grep -c "^$2-[0-9a-f]\{16\}\.debug\$" || true; }

C=$TMP/cache
traced none "$S" MEMSCOPE_SYMBOL_CACHE=none
frames none "$S" >"$TMP/base"
lines=$(awk -F'\t' '$3 > 0' "$TMP/base" | wc -l)
[ "$lines" -ge 5 ] || ms_fail "only $lines frames of the program with a line (test is broken?)"
traced cold "$S" MEMSCOPE_SYMBOL_CACHE="$C"
frames cold "$S" | cmp -s - "$TMP/base" ||
    ms_fail "cold: the frames differ from libdw's: $(frames cold "$S" | diff "$TMP/base" - | head -4)"
[ "$(copies "$C" "$BID")" = 1 ] || ms_fail "cold: want one copy for $BID in the cache: $(ls "$C")"
copy=$(ls "$C"/"$BID"-*.debug)
readelf -SW "$copy" 2>/dev/null | grep -q ' \.debug_info ' || ms_fail "the copy has no .debug_info"
readelf -SW "$copy" 2>/dev/null | awk '$2 ~ /^\.debug/ && $0 ~ / [A-Z]*C[A-Z]* +[0-9]+ +[0-9]+ +[0-9]+$/' | grep -q . &&
    ms_fail "the copy still has compressed sections: $(readelf -SW "$copy" 2>/dev/null | grep debug | head -3)"
for d in info line; do
    readelf --debug-dump=$d "$S.debug" 2>/dev/null | grep -v "loaded from" >"$TMP/orig.$d"
    readelf --debug-dump=$d "$copy" 2>/dev/null | grep -v "loaded from" >"$TMP/copy.$d"
    [ -s "$TMP/orig.$d" ] || ms_fail "readelf read no .debug_$d (test is broken?)"
    cmp -s "$TMP/orig.$d" "$TMP/copy.$d" ||
        ms_fail "the copy's .debug_$d reads otherwise: $(diff "$TMP/orig.$d" "$TMP/copy.$d" | head -4)"
done
echo "ok: cold: libdw's $lines frames with a line; one uncompressed copy, DWARF as the original's"

# the copy is what is read: a source name changed inside it shows
ino=$(stat -c %i "$copy")
src=$(awk -F'\t' '$3 > 0 { print $2; exit }' "$TMP/base")
base=${src##*/}
[ "${#base}" -ge 4 ] || ms_fail "source name $src too short (test is broken?)"
new="${base:0:${#base}-3}Q${base: -2}"
/usr/bin/python3 - "$copy" "$base" "$new" <<'PY'
import sys
path, old, new = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()
data = open(path, "rb").read()
if old not in data:
    sys.exit(f"FAIL: {old} not in the copy")
open(path, "r+b").write(data.replace(old, new))
PY
find "$C" -type f ! -name '*.debug' -delete
traced marked "$S" MEMSCOPE_SYMBOL_CACHE="$C"
frames marked "$S" >"$TMP/marked.frames"
grep -q "$new" "$TMP/marked.frames" ||
    ms_fail "a name changed in the copy does not show: the copy is not what libdw read ($(head -3 "$TMP/marked.frames"))"
[ "$(stat -c %i "$copy")" = "$ino" ] || ms_fail "the copy was made again (inode changed)"
echo "ok: the copy is read ($base shows as $new) and not made again"

# a truncated copy is made again; making it prunes old copies and
# temporary files, as every cache file
find "$C" -type f ! -name '*.debug' -delete
size=$(stat -c %s "$copy")
truncate -s $((size / 2)) "$copy"
old=00112233445566778899aabbccddeeff00112233-0123456789abcdef.debug
tmpf=.00112233445566778899aabbccddeeff00112233-0123456789abcdef.debug.tmp.4242
echo x >"$C/$old"
echo x >"$C/$tmpf"
touch -d '40 days ago' "$C/$old"
touch -d '2 hours ago' "$C/$tmpf"
traced short "$S" MEMSCOPE_SYMBOL_CACHE="$C"
[ ! -e "$C/$old" ] && [ ! -e "$C/$tmpf" ] ||
    ms_fail "a copy unused for 40 days or a temporary copy of 2 hours was not pruned: $(ls -a "$C")"
frames short "$S" | cmp -s - "$TMP/base" || ms_fail "a truncated copy: the frames differ from libdw's"
[ "$(stat -c %s "$copy")" = "$size" ] || ms_fail "a truncated copy was not made again ($(stat -c %s "$copy") bytes, want $size)"
ls -a "$C" | grep -q '\.tmp\.' && ms_fail "a temporary file left in the cache: $(ls -a "$C")"
echo "ok: a truncated copy is made again"

# no copy: a debug file not compressed; one not the module's
objcopy --decompress-debug-sections "$S.debug" "$TMP/plain.debug"
mv "$TMP/plain.debug" "$S.debug"
C2=$TMP/cache2
traced uncompressed "$S" MEMSCOPE_SYMBOL_CACHE="$C2"
frames uncompressed "$S" | cmp -s - "$TMP/base" || ms_fail "uncompressed debug file: the frames differ"
[ "$(copies "$C2" "$BID")" = 0 ] ||
    ms_fail "a debug file not compressed was copied: $(ls "$C2")"
mkdir other
O=$TMP/other/prog
cp "$PROGS/cxx_containers" "$O"
# another build of the program (another build ID), under the same debuglink name
cc -O1 -g -o "$TMP/other.bin" -x c - <<'CEOF'
#include <stdlib.h>
int main(void) { void *p = malloc(64); free(p); return 0; }
CEOF
objcopy --only-keep-debug --compress-debug-sections=zlib "$TMP/other.bin" "$O.debug"
objcopy --strip-debug --add-gnu-debuglink="$O.debug" "$O"
OBID=$(readelf -n "$O" 2>/dev/null | awk '/Build ID/ { print $3 }')
C3=$TMP/cache3
traced wrong "$O" MEMSCOPE_SYMBOL_CACHE="$C3"
[ "$(copies "$C3" "$OBID")" = 0 ] || ms_fail "another program's debug file was copied for $OBID: $(ls "$C3")"
frames wrong "$O" >"$TMP/wrong.frames"
[ "$(awk -F'\t' '$3 > 0' "$TMP/wrong.frames" | wc -l)" = 0 ] ||
    ms_fail "another program's debug file named the program's frames: $(head -2 "$TMP/wrong.frames")"
echo "ok: no copy of a debug file not compressed, nor of one not the module's"

# a cache that cannot be made: names from libdw
objcopy --compress-debug-sections=zlib "$S.debug" "$TMP/z.debug" && mv "$TMP/z.debug" "$S.debug"
echo >"$TMP/afile"
traced nodir "$S" MEMSCOPE_SYMBOL_CACHE="$TMP/afile/cache"
frames nodir "$S" | cmp -s - "$TMP/base" || ms_fail "no cache directory: the frames differ from libdw's"
echo "ok: a cache that cannot be made: libdw's frames"
