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

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    run_one "unit/$(basename "$t")" env CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-120} "$t"
done
for s in tests/integration/*.sh; do
    [ -f "$s" ] || continue
    run_one "integration/$(basename "$s" .sh)" bash "$s"
done

echo
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "logs: $logdir"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
