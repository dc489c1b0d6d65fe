#!/usr/bin/env bash
# Runs every unit binary and integration script, each with a time limit,
# and ends with one "N passed, N failed, N skipped" line.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-$PWD/build}
export BUILD
export MEMSCOPE_LIB="$BUILD/libmemscope_malloc.so"
export MEMSCOPE_TOOL="$BUILD/memscope"
export PROGS="$BUILD/tests/prog"
LIMIT=${TEST_TIMEOUT:-300}
# the symbol cache (by default under ~/.cache) of this run only (each
# integration script takes its own: common.bash)
mkdir -p "$BUILD"
XDG_CACHE_HOME=$(mktemp -d "$BUILD/test-cache.XXXXXX") || exit 1
export XDG_CACHE_HOME
trap 'rm -rf "$XDG_CACHE_HOME"' EXIT
pass=0 fail=0 skip=0 failed=()
logdir="$BUILD/test-logs"
mkdir -p "$logdir"

run_one() {    # name, command...
    local name=$1; shift
    local log="$logdir/${name//\//_}.log" start=$SECONDS rc
    timeout -k 10 "$LIMIT" "$@" >"$log" 2>&1
    rc=$?
    local took=$((SECONDS - start))
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1)); printf 'PASS  %-40s %3ds\n' "$name" "$took"
        grep -E '^[0-9]+%: Checks' "$log" | sed 's/^/      /'
    elif [ $rc -eq 77 ]; then
        skip=$((skip + 1)); printf 'SKIP  %-40s %s\n' "$name" "$(tail -n 1 "$log")"
    else
        fail=$((fail + 1)); failed+=("$name")
        [ $rc -eq 124 ] && echo "      (timed out after ${LIMIT}s)" >>"$log"
        printf 'FAIL  %-40s %3ds (exit %d)\n' "$name" "$took" "$rc"
        tail -n 30 "$log" | sed 's/^/      | /'
    fi
}

# A test writes under its own temporary directory only: whatever the run
# leaves in the checkout outside the build tree (untracked or ignored) is
# a failure, counted as checkout/clean. Not in a git checkout: not checked.
stray_files() {
    local ex=()
    case $BUILD/ in "$PWD"/*) ex=(":(exclude)${BUILD#"$PWD"/}") ;; esac
    git status --porcelain --ignored --untracked-files=all -- . "${ex[@]}" 2>/dev/null |
        sed -n 's/^\(!!\|??\) //p' | sort
}
in_git=0
git rev-parse --is-inside-work-tree >/dev/null 2>&1 && in_git=1
[ $in_git = 1 ] && stray_files >"$logdir/checkout.before"

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    run_one "unit/$(basename "$t")" env CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-120} "$t"
done
for s in tests/integration/*.sh; do
    [ -f "$s" ] || continue
    run_one "integration/$(basename "$s" .sh)" bash "$s"
done

if [ $in_git = 1 ]; then
    stray_files >"$logdir/checkout.after"
    left=$(comm -13 "$logdir/checkout.before" "$logdir/checkout.after")
    if [ -z "$left" ]; then
        pass=$((pass + 1)); printf 'PASS  %-40s\n' "checkout/clean"
    else
        fail=$((fail + 1)); failed+=("checkout/clean")
        printf 'FAIL  %-40s the tests left files in the checkout:\n' "checkout/clean"
        echo "$left" | head -20 | sed 's/^/      | /'
    fi
fi

echo
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "logs: $logdir"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
