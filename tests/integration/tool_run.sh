#!/usr/bin/env bash
# tool_run.sh - the memscope tool: `memscope --version`, and `memscope run`
# runs a program with the library preloaded, passes its output and its exit
# status through, and rejects a missing program or an unknown option with
# a one-line error and a non-zero status.
set -euo pipefail
. "$(dirname "$0")/common.bash"

[ -x "$MEMSCOPE_TOOL" ] || ms_fail "$MEMSCOPE_TOOL not built (run make)"
ms_setup tool_run
PY=/usr/bin/python3
T=$MEMSCOPE_TOOL
LIB=$(realpath "$MEMSCOPE_LIB")   # the tool names the library it found so

# expect NAME WANT_STATUS WANT_STDOUT CMD...: runs CMD, checks its exit
# status and its stdout exactly; its stderr is left in $TMP/NAME.err
expect() {
    local name=$1 want_rc=$2 want_out=$3 rc=0 out
    shift 3
    out=$("$@" 2>"$TMP/$name.err") || rc=$?
    if [ "$rc" != "$want_rc" ] || [ "$out" != "$want_out" ]; then
        echo "$name: $*" >&2
        echo "  exit status $rc, want $want_rc" >&2
        echo "  stdout: '$out', want '$want_out'" >&2
        echo "  stderr: $(head -5 "$TMP/$name.err")" >&2
        ms_fail "$name"
    fi
    echo "ok: $name (exit $rc)"
}

# one_line_error NAME: $TMP/NAME.err holds exactly one non-empty line
one_line_error() {
    local n
    n=$(wc -l <"$TMP/$1.err")
    if [ "$n" != 1 ] || ! grep -q . "$TMP/$1.err"; then
        echo "$1: want a one-line error, got $n lines:" >&2
        head -5 "$TMP/$1.err" >&2
        ms_fail "$1"
    fi
    echo "ok: $1 error: $(cat "$TMP/$1.err")"
}

# --version
version=$(sed -n 's/.*MEMSCOPE_VERSION_STRING "\(.*\)"/\1/p' "$REPO/include/memscope.h")
[ -n "$version" ] || ms_fail "no MEMSCOPE_VERSION_STRING in include/memscope.h"
expect version 0 "memscope $version" "$T" --version

# --help: the usage, on stdout
out=$("$T" --help) || ms_fail "memscope --help exited non-zero"
case $out in *"memscope run"*) echo "ok: help" ;; *) ms_fail "memscope --help: no usage" ;; esac

# run passes output and status through
if [ -x "$PY" ]; then
    expect run_python 0 1 "$T" run -q -- "$PY" -c 'print(1)'
    [ ! -s "$TMP/run_python.err" ] || ms_fail "run -q -- python3 wrote to stderr: $(head -3 "$TMP/run_python.err")"
    # the program really runs with the library preloaded
    expect run_python_preloaded 0 "$LIB" "$T" run -- "$PY" -c '
import os
print(os.path.realpath(os.environ["LD_PRELOAD"].split(":")[0]))'
    expect run_python_exit 5 "" "$T" run -- "$PY" -c 'import sys; sys.exit(5)'
else
    echo "$PY not installed: python checks skipped"
fi
expect run_sh_exit 3 "" "$T" run -- sh -c 'exit 3'
expect run_sh_output 0 "a b" "$T" run -- sh -c 'echo "$1 $2"' sh a b
expect run_no_dashdash 0 "hello" "$T" run echo hello
expect run_maps 0 loaded "$T" run -- \
    sh -c 'grep -q "/libmemscope_malloc.so$" /proc/$$/maps && echo loaded'
# a preload already set is kept, after ours
# (the dynamic linker complains on stderr about the missing one)
expect run_keeps_preload 0 "$LIB:/nonexistent-but-harmless.so" \
    env LD_PRELOAD=/nonexistent-but-harmless.so "$T" run -- \
    sh -c 'echo "$LD_PRELOAD"'
# options set the MEMSCOPE_* variables (the directory made absolute: the
# reports go where the tool was run, whatever directory PROG goes to)
expect run_options 0 "$PWD/out-dir my-name none" "$T" run -o out-dir -n my-name -- \
    sh -c 'echo "$MEMSCOPE_OUT $MEMSCOPE_NAME $MEMSCOPE_CHILDREN"'
expect run_follow 0 "fork all" sh -c '"$1" run -q --follow-fork -- sh -c "printf %s \$MEMSCOPE_CHILDREN"; echo " $("$1" run -q --follow-children -- sh -c "echo \$MEMSCOPE_CHILDREN")"' sh "$T"

# errors: one line on stderr, non-zero status, the program not run
for case in "no_program run" "no_program_dashdash run --" \
            "bad_option run --no-such-option -- true" \
            "missing_value run -o" "unknown_command frobnicate"; do
    set -- $case
    name=$1
    shift
    rc=0
    "$T" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || rc=$?
    [ "$rc" != 0 ] || ms_fail "$name: memscope $* exited 0"
    [ ! -s "$TMP/$name.out" ] || ms_fail "$name: memscope $* wrote to stdout"
    echo "ok: $name (exit $rc)"
    one_line_error "$name"
done
# a program that does not exist: 127, like a shell
rc=0
"$T" run -- /nonexistent/program >/dev/null 2>"$TMP/enoent.err" || rc=$?
[ "$rc" = 127 ] || ms_fail "run of a missing program exited $rc, want 127"
one_line_error enoent
