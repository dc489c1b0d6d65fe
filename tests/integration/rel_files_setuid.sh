#!/usr/bin/env bash
# rel_files_setuid.sh - a setuid (AT_SECURE) process reads no MEMSCOPE_*
# option from its environment (secure_getenv), and writes no report at all
# (its working directory may be a user's; rel_files_setuid_link.sh). A
# setuid program cannot be preloaded from a path, so
# tests/programs/rel_exit.c is linked against the library here (absolute
# rpath to a copy of the library in a directory of its own, so that
# nobody can load it wherever the checkout is), made setuid root and run as nobody with MEMSCOPE_OUT,
# MEMSCOPE_NAME, MEMSCOPE_FORMATS and MEMSCOPE_VERBOSE set: its output and
# status are unchanged, nothing is written where they say nor in
# ./MemoryAnalysis, and no option is printed. The same program not setuid
# obeys the same variables (so the library is really there and reading
# them). Needs root, setpriv and the user nobody; skipped without them.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3 setpriv cc
[ "$(id -u)" = 0 ] || ms_skip "needs root (to make a program setuid root)"
id nobody >/dev/null 2>&1 || ms_skip "no user nobody"
ms_setup rel_files_setuid
chmod 0755 "$TMP"
W=$TMP/w
mkdir -m 0777 "$W" "$W/cwd"
# the library copied out of the checkout, which nobody may not be able to enter
LIBDIR=$(ms_lib_copy "$TMP/lib")
cc -std=gnu11 -O1 -g -D_GNU_SOURCE -pthread -o "$W/suidprog" "$REPO/tests/programs/rel_exit.c" \
    -L"$LIBDIR" -lmemscope_malloc -Wl,-rpath,"$LIBDIR"
ldd "$W/suidprog" >"$TMP/ldd" || true
grep -q "$LIBDIR/libmemscope_malloc.so" "$TMP/ldd" ||
    ms_fail "suidprog is not linked against $LIBDIR/libmemscope_malloc.so: $(cat "$TMP/ldd")"
VARS=(MEMSCOPE_OUT="$W/evil" MEMSCOPE_NAME=evil MEMSCOPE_FORMATS=json MEMSCOPE_VERBOSE=1)
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

# as nobody, not setuid: the variables are obeyed
chmod 0755 "$W/suidprog"
(cd "$W/cwd" && "${NOBODY[@]}" timeout 60 env "${VARS[@]}" "$W/suidprog" work 3 >"$TMP/plain.out" 2>"$TMP/plain.err") &&
    rc=0 || rc=$?
[ "$rc" = 3 ] || ms_fail "not setuid: exit status $rc: $(head -3 "$TMP/plain.err")"
[ -s "$W/evil/evil.json" ] || ms_fail "not setuid: MEMSCOPE_OUT/MEMSCOPE_NAME not obeyed (test is broken?)"
grep -q MEMSCOPE_OUT "$TMP/plain.err" || ms_fail "not setuid: MEMSCOPE_VERBOSE=1 printed nothing (test is broken?)"
echo "ok: not setuid, the options are read (reports in $W/evil)"
rm -rf "$W/evil"

# setuid root, run as nobody: AT_SECURE
chown root:root "$W/suidprog"
chmod 4755 "$W/suidprog"
(cd "$W/cwd" && "${NOBODY[@]}" timeout 60 env "${VARS[@]}" "$W/suidprog" work 3 >"$TMP/suid.out" 2>"$TMP/suid.err") &&
    rc=0 || rc=$?
if [ "$rc" = 126 ] || grep -q "Permission denied\|Operation not permitted" "$TMP/suid.err"; then
    ms_skip "cannot run a setuid program here: $(head -1 "$TMP/suid.err")"
fi
[ "$rc" = 3 ] || ms_fail "setuid: exit status $rc: $(head -3 "$TMP/suid.err")"
cmp -s "$TMP/plain.out" "$TMP/suid.out" || ms_fail "setuid: stdout changed"
[ ! -e "$W/evil" ] || ms_fail "setuid: reports written where MEMSCOPE_OUT said: $(ls "$W/evil")"
[ ! -s "$TMP/suid.err" ] || ms_fail "setuid: stderr not empty (MEMSCOPE_VERBOSE read?): $(head -3 "$TMP/suid.err")"
[ ! -e "$W/cwd/MemoryAnalysis" ] ||
    ms_fail "setuid: reports written to ./MemoryAnalysis: $(ls "$W/cwd/MemoryAnalysis")"
left=$(find "$W" -newer "$W/suidprog" -type f 2>/dev/null | head -3 || true)
[ -z "$left" ] || ms_fail "setuid: files written: $left"
echo "ok: setuid (AT_SECURE): no option read, no report written, output and status unchanged"
