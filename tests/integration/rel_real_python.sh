#!/usr/bin/env bash
# rel_real_python.sh - CPython's own test modules under `memscope run`
# (PYTHONMALLOC=malloc, so every object is a malloc block): REL_PY_TESTS
# (test_dict test_set; make stress: test_json test_dict test_list test_set
# test_re)
# with `python3 -m test -v`, once plainly and once under `memscope run -o
# DIR`. Same status and same verbose output (each test's result; run
# times, load averages, the "-- test_X passed" note regrtest adds after a
# slow test, and temporary directory names left out; a test
# that fails without memscope must fail the same way with it), and every
# process (python and what its tests start) wrote a complete JSON report.
# Needs the test package (Debian: libpython3.11-testsuite); PYTHONPATH is
# honoured, so one unpacked elsewhere works too.
set -euo pipefail
. "$(dirname "$0")/common.bash"

PY=/usr/bin/python3
ms_need "$PY"
[ -x "$MEMSCOPE_TOOL" ] || ms_fail "$MEMSCOPE_TOOL not built (run make)"
TESTS=${REL_PY_TESTS:-test_dict test_set}
mods=$(printf 'import test.%s\n' $TESTS)
"$PY" -c "$mods" 2>/dev/null ||
    ms_skip "python's test modules ($TESTS) are not installed: add libpython3.11-testsuite to DEPS_PKGS"
ms_setup rel_real_python
export PYTHONHASHSEED=0 PYTHONMALLOC=malloc PYTHONDONTWRITEBYTECODE=1
unset PYTHONHOME PYTHONSTARTUP
R=$TMP/reports-python
CMD=("$PY" -m test --randseed 1 -v $TESTS)

start=$SECONDS
ms_run plain py timeout 600 "${CMD[@]}"
ms_run pre-inner py timeout 600 "$MEMSCOPE_TOOL" run --follow-children -o "$R" -- "${CMD[@]}"
ms_not_hung py
for m in plain pre; do
    sed -E -i 's/^[0-9]+:[0-9]{2}:[0-9]{2} (load avg: [0-9.]+ )?//
               /^Total duration:/d
               s/ in [0-9.]+s$//
               s/ in [0-9.]+ (sec|min|ms)//
               s/test_python_worker_[0-9]+/test_python_worker_N/
               s/test_python_[0-9]+/test_python_N/
               s/ -- test_[a-z_]+ passed( [0-9].*)?$//' "$TMP/py.$m.out"
done
# A module failing without memscope too (a test package of another patch
# level than the interpreter) is not memscope's: the same result is.
prc=$(cat "$TMP/py.plain.rc")
if [ "$prc" != 0 ] && [ "$(cat "$TMP/py.pre.rc")" = "$prc" ]; then
    echo "note: the tests fail without memscope too (status $prc):" \
        "$(grep -E '^(FAIL|ERROR):' "$TMP/py.plain.out" | head -3 | tr '\n' ' ')"
    echo 0 >"$TMP/py.plain.rc"
    echo 0 >"$TMP/py.pre.rc"
fi
ms_compare py
echo "    ($TESTS: $(grep -c '\.\.\. ok$' "$TMP/py.pre.out") tests ok, $((SECONDS - start)) s for both runs)"

shopt -s nullglob
pys=("$R"/python3-*.json)
all=("$R"/*.json)
[ ${#pys[@]} -ge 1 ] || ms_fail "no python3 report in $R"
ms_reports_check --pid name --trigger exit "${all[@]}"
ms_no_tmp "$R"
echo "ok: ${#all[@]} processes (${#pys[@]} python3) wrote complete reports"
