#!/usr/bin/env bash
# rel_files.sh - report files (docs/options.md, "Files"):
# - a report never writes through a symlink: with NAME.json a symlink to a
#   file outside, NAME.md a dangling symlink, and the temporary name the
#   writer will use (NAME.bin.tmp.<pid>) a symlink to another outside file,
#   the outside files are unchanged (the dangling target is not created)
#   and NAME.json, NAME.md, NAME.bin end up regular, complete files: the
#   rename replaces the link itself;
# - modes: 0600 by default whatever the umask, MEMSCOPE_FILE_MODE=0640
#   and 0644 (under umask 077) are respected, for every format;
# - reports are complete or absent: no NAME.*.tmp.* file is left.
# A full disk, a read-only directory: rel_files_mount.sh. setuid:
# rel_files_setuid.sh.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup rel_files
P=$PROGS/rel_exit
ms_run plain work "$P" work 3

# ---- symlinks ---------------------------------------------------------------
out=$TMP/links
mkdir -p "$out"
echo precious >"$TMP/outside.txt"
echo precious2 >"$TMP/outside2.txt"
ln -s "$TMP/outside.txt" "$out/victim.json"
ln -s "$TMP/does-not-exist" "$out/victim.md"
# The shell's pid is the program's after exec: the writer's temporary name
# (NAME.EXT.tmp.<pid>) is known in advance.
# sh is timeout's child: followed with MEMSCOPE_CHILDREN=all
MEMSCOPE_CHILDREN=all MEMSCOPE_OUT=$out MEMSCOPE_NAME=victim ms_run pre links timeout 60 sh -c 'ln -s "$1" "$2/victim.bin.tmp.$$" && exec "$3" work 3' sh \
    "$TMP/outside2.txt" "$out" "$P"
ms_not_hung links
[ "$(cat "$TMP/links.pre.rc")" = 3 ] || ms_fail "links: exit status $(cat "$TMP/links.pre.rc")"
cmp -s "$TMP/links.pre.out" "$TMP/work.plain.out" || ms_fail "links: stdout changed"
[ "$(cat "$TMP/outside.txt")" = precious ] || ms_fail "a report was written through the NAME.json symlink"
[ "$(cat "$TMP/outside2.txt")" = precious2 ] || ms_fail "a report was written through the temporary name's symlink"
[ ! -e "$TMP/does-not-exist" ] || ms_fail "a report created the target of the dangling NAME.md symlink"
for ext in json md bin; do
    [ -f "$out/victim.$ext" ] && [ ! -L "$out/victim.$ext" ] ||
        ms_fail "victim.$ext is not a regular file after the run: $(ls -l "$out/victim.$ext" 2>&1)"
done
ms_reports_check "$out/victim.json"
ms_no_tmp "$out"
echo "ok: no write through a symlink: NAME.json, NAME.md (dangling) and the temporary name's symlinks replaced by regular files; the outside files unchanged"

# ---- modes -----------------------------------------------------------------
# check_modes DIR WANT: every report file in DIR has mode WANT
check_modes() {
    local f m n=0
    for f in "$1"/*; do
        m=$(stat -c %a "$f")
        [ "$m" = "$2" ] || ms_fail "$(basename "$f") has mode $m, want $2"
        n=$((n + 1))
    done
    [ $n -ge 4 ] || ms_fail "only $n report files in $1"
}
for um in 022 000 077; do
    (umask $um && MEMSCOPE_OUT=$TMP/mode-$um LD_PRELOAD=$MEMSCOPE_LIB timeout 60 "$P" work 0 >/dev/null)
    check_modes "$TMP/mode-$um" 600
done
echo "ok: mode 0600 by default, under umask 022, 000 and 077"
(umask 022 && MEMSCOPE_OUT=$TMP/m640 MEMSCOPE_FILE_MODE=0640 LD_PRELOAD=$MEMSCOPE_LIB timeout 60 "$P" work 0 >/dev/null)
check_modes "$TMP/m640" 640
(umask 077 && MEMSCOPE_OUT=$TMP/m644 MEMSCOPE_FILE_MODE=644 LD_PRELOAD=$MEMSCOPE_LIB timeout 60 "$P" work 0 >/dev/null)
check_modes "$TMP/m644" 644
echo "ok: MEMSCOPE_FILE_MODE=0640, and 644 under umask 077, respected"
ms_no_tmp "$TMP"
