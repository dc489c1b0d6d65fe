# common.bash - helpers sourced by the integration scripts (not a test:
# tests/run.sh runs only tests/integration/*.sh).
#
# A script sources it after `set -euo pipefail`, then calls ms_setup NAME.
# The environment comes from tests/run.sh (BUILD, MEMSCOPE_LIB,
# MEMSCOPE_TOOL, PROGS); a script run by hand from the repository root
# falls back to build/.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$REPO/build}
MEMSCOPE_LIB=${MEMSCOPE_LIB:-$BUILD/libmemscope_malloc.so}
MEMSCOPE_TOOL=${MEMSCOPE_TOOL:-$BUILD/memscope}
PROGS=${PROGS:-$BUILD/tests/prog}
export BUILD MEMSCOPE_LIB MEMSCOPE_TOOL PROGS

# An inherited preload would make the plain run not plain.
unset LD_PRELOAD
# Same messages and sort orders in every run.
export LC_ALL=C LANG=C TZ=UTC

ms_skip() { echo "SKIP: $*"; exit 77; }
ms_fail() { echo "FAIL: $*" >&2; exit 1; }

# ms_need PROG...: skip the script when a program is missing.
ms_need() {
    local p
    for p in "$@"; do
        if [[ $p == /* ]]; then
            [ -x "$p" ] || ms_skip "$p is not installed"
        else
            command -v "$p" >/dev/null 2>&1 || ms_skip "$p is not installed"
        fi
    done
}

# ms_setup NAME: checks the library is built, makes $TMP (removed on exit)
# and goes there. The library's reports (it traces by default and writes
# them at exit) go to $TMP/reports, never into the repository or into a
# directory a test compares; its symbol cache under $TMP/xdg-cache; the
# other MEMSCOPE_* options are left as the caller set them.
ms_setup() {
    [ -f "$MEMSCOPE_LIB" ] || ms_fail "$MEMSCOPE_LIB not built (run make)"
    MEMSCOPE_LIB=$(cd "$(dirname "$MEMSCOPE_LIB")" && pwd -P)/$(basename "$MEMSCOPE_LIB")
    TMP=$(mktemp -d "/tmp/memscope-$1.XXXXXX")
    trap 'rm -rf "$TMP"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    export MEMSCOPE_OUT=$TMP/reports
    # the symbol cache (by default under ~/.cache) of this test only: a
    # test neither reads what another run left nor fills the user's
    export XDG_CACHE_HOME=$TMP/xdg-cache
    cd "$TMP"
    ulimit -c 0 2>/dev/null || true
}

# ms_prog NAME: prints the path of test program NAME (tests/programs),
# failing the script when it is not built: P=$(ms_prog NAME).
ms_prog() {
    [ -x "$PROGS/$1" ] || ms_fail "$PROGS/$1 not built (run make check-build)"
    echo "$PROGS/$1"
}

# ms_lib_copy DIR: a copy of the library in DIR (made 0755, the copy
# 0755), for a program that runs as another user (nobody): the checkout,
# and so build/, may be in a directory only its owner can enter (a 0700
# mktemp -d). Prints DIR.
ms_lib_copy() {
    mkdir -p -m 0755 "$1"
    chmod 0755 "$1"
    cp "$MEMSCOPE_LIB" "$1/libmemscope_malloc.so"
    chmod 0755 "$1/libmemscope_malloc.so"
    echo "$1"
}

# ms_run MODE TAG CMD...: runs CMD plainly (MODE plain) or with the library
# preloaded (MODE pre); stdout, stderr and the exit status go to
# $TMP/TAG.{plain,pre}.{out,err,rc}. MODE pre-inner is a pre run that
# leaves the preloading to CMD: CMD runs without LD_PRELOAD and with
# MS_PRELOAD set to the library (empty in the other modes), for a script
# that preloads only the program under test. Never fails itself.
ms_run() {
    local mode=$1 tag=$2 rc=0 out
    shift 2
    case $mode in
    plain)
        out=$TMP/$tag.plain
        MS_PRELOAD= "$@" >"$out.out" 2>"$out.err" || rc=$? ;;
    pre)
        out=$TMP/$tag.pre
        MS_PRELOAD=$MEMSCOPE_LIB LD_PRELOAD=$MEMSCOPE_LIB "$@" \
            >"$out.out" 2>"$out.err" || rc=$? ;;
    pre-inner)
        out=$TMP/$tag.pre
        MS_PRELOAD=$MEMSCOPE_LIB "$@" >"$out.out" 2>"$out.err" || rc=$? ;;
    *)  ms_fail "ms_run: bad mode $mode" ;;
    esac
    echo "$rc" >"$out.rc"
}

# ms_both TAG CMD...: ms_run plain, then pre (both read the same stdin:
# redirect stdin per ms_run instead when CMD reads it).
ms_both() {
    local tag=$1
    shift
    ms_run plain "$tag" "$@"
    ms_run pre "$tag" "$@"
}

_ms_status() {   # exit status in words
    local rc=$1
    if [ "$rc" -gt 128 ] && [ "$rc" -lt 160 ]; then
        echo "$rc (signal $(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128))))"
    else
        echo "$rc"
    fi
}

# ms_compare TAG [stderr]: both runs exited 0 and wrote the same stdout
# (and the same stderr when the second argument is "stderr"). An empty
# stdout is taken for a broken test unless MS_EMPTY_OK is set.
ms_compare() {
    local tag=$1 what=${2:-} ok=1 f files=out
    local prc prerc
    [ "$what" = stderr ] && files="out err"
    prc=$(cat "$TMP/$tag.plain.rc")
    prerc=$(cat "$TMP/$tag.pre.rc")
    if [ "$prc" != 0 ]; then
        echo "$tag: the plain run failed with exit status $(_ms_status "$prc") (test is broken?)" >&2
        head -20 "$TMP/$tag.plain.err" >&2
        ok=0
    fi
    if [ "$prerc" != 0 ]; then
        echo "$tag: the preloaded run exited with status $(_ms_status "$prerc"), the plain run with $prc" >&2
        echo "--- stderr of the preloaded run (head -20):" >&2
        head -20 "$TMP/$tag.pre.err" >&2
        ok=0
    fi
    for f in $files; do
        if ! cmp -s "$TMP/$tag.plain.$f" "$TMP/$tag.pre.$f"; then
            echo "$tag: std$f differs between the plain and the preloaded run (diff | head -20):" >&2
            diff -u --label plain --label preloaded \
                "$TMP/$tag.plain.$f" "$TMP/$tag.pre.$f" | head -20 >&2 || true
            ok=0
        fi
    done
    if [ -z "${MS_EMPTY_OK:-}" ] && [ ! -s "$TMP/$tag.plain.out" ]; then
        echo "$tag: the plain run printed nothing (test is broken?)" >&2
        ok=0
    fi
    [ $ok = 1 ] || ms_fail "$tag"
    echo "ok: $tag (exit 0, $(wc -l <"$TMP/$tag.plain.out") identical lines of stdout${what:+, identical stderr})"
}

_ms_re() {   # a string as an extended regular expression matching it
    printf '%s' "$1" | sed 's/[][\\.*^$+?(){}|]/\\&/g'
}

# ms_assert_binds EXES CMD...: with the library preloaded into CMD, the
# dynamic linker binds the malloc and free (or the symbols listed in
# $MS_BIND_SYMS) of each of EXES (paths or basenames, space-separated: CMD
# and the programs it starts) to the library. LD_BIND_NOW: every symbol a
# program imports is bound at start, called or not.
ms_assert_binds() {
    local exes=$1 exe sym log
    shift
    log=$TMP/ld-bindings
    rm -f "$log".*
    LD_PRELOAD=$MEMSCOPE_LIB LD_BIND_NOW=1 LD_DEBUG=bindings LD_DEBUG_OUTPUT=$log \
        "$@" >/dev/null 2>&1 || true
    for exe in $exes; do
        for sym in ${MS_BIND_SYMS:-malloc free}; do
            cat "$log".* 2>/dev/null |
                grep -E "binding file ([^ ]*/)?$(_ms_re "${exe##*/}") \[0\] to $(_ms_re "$MEMSCOPE_LIB") \[0\]: normal symbol \`$sym'" \
                >/dev/null ||
                ms_fail "with LD_PRELOAD, $exe's $sym does not bind to $MEMSCOPE_LIB"
        done
        echo "ok: $exe: ${MS_BIND_SYMS:-malloc free} bind to $(basename "$MEMSCOPE_LIB")"
    done
    rm -f "$log".*
}

# ---- helpers of the reliability tests (rel_*.sh) -----------------------

# ms_start TAG CMD...: starts CMD in the background, stdout and stderr in
# $TMP/TAG.out and $TMP/TAG.err; MS_PID is its pid. ms_wait LIMIT TAG
# waits for it and sets MS_RC to its exit status. One still running
# LIMIT seconds after ms_wait began is a hang: the stacks of its threads
# (and of its children's) are printed with gdb, it is killed, and the test
# fails. ms_timed LIMIT TAG CMD... is both.
ms_start() {
    local tag=$1
    shift
    "$@" >"$TMP/$tag.out" 2>"$TMP/$tag.err" &
    MS_PID=$!
}

ms_wait() {
    local limit=$1 tag=$2 pid=$MS_PID n=0 p
    while kill -0 "$pid" 2>/dev/null; do
        if [ $n -ge $((limit * 10)) ]; then
            echo "$tag: still running after ${limit}s: a hang. Stacks:" >&2
            for p in $pid $(pgrep -P "$pid" 2>/dev/null); do
                echo "--- pid $p: $(tr '\0' ' ' </proc/$p/cmdline 2>/dev/null)" >&2
                if command -v gdb >/dev/null; then
                    timeout 60 gdb -q -batch -p "$p" -ex 'thread apply all bt' \
                        </dev/null 2>/dev/null | grep -E '^(Thread|#)' | head -200 >&2 || true
                fi
            done
            pkill -KILL -P "$pid" 2>/dev/null || true
            kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
            echo "--- its stderr (tail):" >&2
            tail -n 20 "$TMP/$tag.err" >&2
            ms_fail "$tag hung"
        fi
        sleep 0.1
        n=$((n + 1))
    done
    MS_RC=0
    wait "$pid" || MS_RC=$?
}

ms_timed() {
    local limit=$1 tag=$2
    shift 2
    ms_start "$tag" "$@"
    ms_wait "$limit" "$tag"
}

# ms_reports_check [--pid N] [--mode exact|sampled] [--trigger T]
#   [--program P] [--errors N] FILE...: each FILE is a complete JSON
# report (tests/data/rel_json.py check: parses whole, format, version,
# consistent summary) with no heap errors unless --errors says how many.
ms_reports_check() {
    /usr/bin/python3 "$REPO/tests/data/rel_json.py" check "$@" ||
        ms_fail "bad report (see above)"
}

# ms_no_tmp DIR...: no temporary file (NAME.EXT.tmp.PID) left behind.
ms_no_tmp() {
    local left
    left=$(find "$@" -name '*.tmp.*' 2>/dev/null | head -5)
    [ -z "$left" ] || ms_fail "temporary report files left behind: $left"
}

# ms_status_is TAG WANT: $MS_RC (from ms_timed TAG) is WANT.
ms_status_is() {
    if [ "$MS_RC" != "$2" ]; then
        echo "$1: exit status $(_ms_status "$MS_RC"), want $(_ms_status "$2")" >&2
        echo "--- stderr (head -20):" >&2
        head -n 20 "$TMP/$1.err" >&2
        ms_fail "$1: exit status"
    fi
}

# ms_not_hung TAG: neither ms_run of TAG (run under `timeout`) timed out.
ms_not_hung() {
    local m
    for m in plain pre; do
        if [ -f "$TMP/$1.$m.rc" ] && [ "$(cat "$TMP/$1.$m.rc")" = 124 ]; then
            ms_fail "$1: the $m run hung (killed by timeout): $(tail -n 3 "$TMP/$1.$m.err")"
        fi
    done
}
