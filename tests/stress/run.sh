#!/usr/bin/env bash
# run.sh - `make stress`: the reliability tests (tests/integration/rel_*.sh)
# with their long settings, each under a time limit, with its duration;
# ends with one "N passed, N failed, N skipped" line. Logs go to
# $BUILD/stress-logs.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-$PWD/build}
export BUILD
export MEMSCOPE_LIB="$BUILD/libmemscope_malloc.so"
export MEMSCOPE_TOOL="$BUILD/memscope"
export PROGS="$BUILD/tests/prog"
LIMIT=${STRESS_TIMEOUT:-1200}
logdir="$BUILD/stress-logs"
mkdir -p "$logdir"
pass=0 fail=0 skip=0 failed=()

# run NAME VAR=VALUE...: tests/integration/NAME.sh with those settings
run() {
    local name=$1 log="$logdir/$1.log" start=$SECONDS rc
    shift
    printf '%-22s %s\n' "$name" "$*"
    timeout -k 10 "$LIMIT" env "$@" bash "tests/integration/$name.sh" >"$log" 2>&1
    rc=$?
    local took=$((SECONDS - start))
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1)); printf '  PASS  %4ds\n' "$took"
    elif [ $rc -eq 77 ]; then
        skip=$((skip + 1)); printf '  SKIP  %4ds  %s\n' "$took" "$(tail -n 1 "$log")"
    else
        fail=$((fail + 1)); failed+=("$name")
        [ $rc -eq 124 ] && echo "(timed out after ${LIMIT}s)" >>"$log"
        printf '  FAIL  %4ds (exit %d)\n' "$took" "$rc"
        tail -n 20 "$log" | sed 's/^/      | /'
    fi
}

run rel_load          REL_LOAD_SECONDS=30
run rel_fork          REL_FORKS=200
run rel_signal        REL_SIGNALS=3000 REL_SIGNAL_SECONDS=30
run rel_exit          REL_EXIT_ROUNDS=25
run rel_real_sqlite   REL_SQLITE_ROWS=1000000
run rel_real_git      REL_GIT_COMMITS=30 REL_GIT_FILES=1500
run rel_real_python   "REL_PY_TESTS=test_json test_dict test_list test_set test_re"

echo
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "logs: $logdir"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
