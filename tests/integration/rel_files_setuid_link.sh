#!/usr/bin/env bash
# rel_files_setuid_link.sh - a setuid-root program linked with memscope,
# run by an unprivileged user (nobody) in a directory that user owns,
# where the user planted ./MemoryAnalysis as a symlink to a directory only
# root may write: the reports (written as root, to the default directory,
# since an AT_SECURE process reads no option) must not land there. The
# user must not be able to make root create files in a directory of its
# choosing. Needs root, setpriv and nobody; skipped without them.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need setpriv cc
[ "$(id -u)" = 0 ] || ms_skip "needs root (to make a program setuid root)"
id nobody >/dev/null 2>&1 || ms_skip "no user nobody"
ms_setup rel_files_setuid_link
chmod 0755 "$TMP"
W=$TMP/w
mkdir -m 0777 "$W" "$W/cwd"
mkdir -m 0700 "$TMP/rootonly"
# the library copied out of the checkout, which nobody may not be able to enter
LIBDIR=$(ms_lib_copy "$TMP/lib")
cc -std=gnu11 -O1 -g -D_GNU_SOURCE -pthread -o "$W/suidprog" "$REPO/tests/programs/rel_exit.c" \
    -L"$LIBDIR" -lmemscope_malloc -Wl,-rpath,"$LIBDIR"
chown root:root "$W/suidprog"
chmod 4755 "$W/suidprog"
rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups sh -c '
    cd "$1" && ln -s "$2" MemoryAnalysis && exec timeout 60 "$3" work 3' sh \
    "$W/cwd" "$TMP/rootonly" "$W/suidprog" >"$TMP/out" 2>"$TMP/err" || rc=$?
[ "$rc" = 3 ] || ms_fail "exit status $rc, want 3: $(head -3 "$TMP/err")"
[ -L "$W/cwd/MemoryAnalysis" ] || ms_fail "the planted symlink is gone (test is broken?)"
left=$(ls -A "$TMP/rootonly")
[ -z "$left" ] || ms_fail "a setuid process followed the user's MemoryAnalysis symlink and wrote, as root, into a root-only directory: $left"
echo "ok: the planted MemoryAnalysis symlink was not followed"
