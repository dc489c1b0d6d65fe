#!/usr/bin/env bash
# rel_files_mount.sh - reports on a full disk and in a read-only directory
# (tmpfs mounts: needs root, skipped where mount is not permitted).
# - Full: a 64 KiB tmpfs filled up (all but 8 KiB, then all of it): the
#   program's stdout and exit status are unchanged, stderr is one warning,
#   each report file there is complete (JSON parses, the .bin reads back
#   with `memscope report`), and no temporary file is left.
# - Read-only (the tmpfs remounted ro: chmod does not stop root): the same
#   with MEMSCOPE_OUT the read-only directory itself, and a directory to be
#   made inside it.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3 mount umount
ms_setup rel_files_mount
MNT=$TMP/mnt
mkdir -p "$MNT"
mount -t tmpfs -o size=64k,mode=0755 tmpfs "$MNT" 2>"$TMP/mount.err" ||
    ms_skip "cannot mount a tmpfs here ($(head -1 "$TMP/mount.err")): needs root and CAP_SYS_ADMIN"
trap 'umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null; rm -rf "$TMP"' EXIT
P=$PROGS/rel_exit
ms_run plain work "$P" work 3

# runs TAG DIR: rel_exit work 3 with its reports in DIR; status, stdout,
# one line on stderr; what is in DIR is complete
runs() {
    local tag=$1 dir=$2 f
    # the program is timeout's child: followed with MEMSCOPE_CHILDREN=all
    MEMSCOPE_CHILDREN=all MEMSCOPE_OUT=$dir MEMSCOPE_NAME=r ms_run pre $tag timeout 60 "$P" work 3
    ms_not_hung $tag
    [ "$(cat "$TMP/$tag.pre.rc")" = 3 ] ||
        ms_fail "$tag: exit status $(cat "$TMP/$tag.pre.rc"), want 3: $(head -3 "$TMP/$tag.pre.err")"
    cmp -s "$TMP/$tag.pre.out" "$TMP/work.plain.out" || ms_fail "$tag: stdout changed"
    if [ "$(wc -l <"$TMP/$tag.pre.err")" != 1 ]; then
        echo "$tag: want one warning on stderr, got:" >&2
        head -10 "$TMP/$tag.pre.err" >&2
        ms_fail "$tag: stderr"
    fi
    ms_no_tmp "$MNT"
    [ ! -e "$dir/r.json" ] || ms_reports_check "$dir/r.json" >/dev/null
    if [ -e "$dir/r.bin" ] && [ -x "$MEMSCOPE_TOOL" ]; then
        "$MEMSCOPE_TOOL" report "$dir/r.bin" --format json -o "$TMP/bin.json" ||
            ms_fail "$tag: r.bin on the full disk does not read back"
    fi
    echo "ok: $tag: status and output unchanged, one warning: $(cat "$TMP/$tag.pre.err")"
    echo "    written: $(cd "$dir" 2>/dev/null && ls | tr '\n' ' ')"
}

# ---- full -------------------------------------------------------------------
mkdir "$MNT/out"
dd if=/dev/zero of="$MNT/fill" bs=1k count=1024 2>/dev/null || true   # ENOSPC
avail=$(df -k --output=avail "$MNT" | tail -1 | tr -d ' ')
[ "$avail" -le 4 ] || ms_fail "could not fill the tmpfs ($avail KiB left)"
truncate -s -8k "$MNT/fill"
runs full-8k "$MNT/out"
rm -f "$MNT"/out/*
dd if=/dev/zero of="$MNT/fill2" bs=1k count=1024 2>/dev/null || true
runs full "$MNT/out"
rm -f "$MNT"/out/* "$MNT/fill" "$MNT/fill2"

# ---- read-only --------------------------------------------------------------
mount -o remount,ro "$MNT" 2>"$TMP/mount.err" ||
    ms_skip "cannot remount the tmpfs read-only ($(head -1 "$TMP/mount.err"))"
touch "$MNT/probe" 2>/dev/null && ms_fail "the read-only tmpfs is writable"
runs ro-dir "$MNT/out"
runs ro-mkdir "$MNT/out/new"
