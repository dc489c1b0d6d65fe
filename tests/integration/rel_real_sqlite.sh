#!/usr/bin/env bash
# rel_real_sqlite.sh - sqlite3 under `memscope run` on REL_SQLITE_ROWS rows
# (100 000; 1 000 000 in make stress): a table filled by a recursive CTE,
# indexes, aggregates, GROUP BY, a self-join, a window function, updates,
# deletes and an integrity check (tests/data/rel_sqlite.sql). Output,
# stderr, status and the database file are those of a plain run, and the
# process wrote one complete report (in every default format).
set -euo pipefail
. "$(dirname "$0")/common.bash"

SQLITE=/usr/bin/sqlite3
ms_need "$SQLITE" /usr/bin/python3
[ -x "$MEMSCOPE_TOOL" ] || ms_fail "$MEMSCOPE_TOOL not built (run make)"
ms_setup rel_real_sqlite
ROWS=${REL_SQLITE_ROWS:-100000}
R=$TMP/reports-sqlite
{ echo ".parameter set @rows $ROWS"; cat "$REPO/tests/data/rel_sqlite.sql"; } >"$TMP/in.sql"

start=$SECONDS
mkdir "$TMP/plain" "$TMP/traced"
(cd "$TMP/plain" && ms_run plain sql timeout 600 "$SQLITE" -batch test.db <"$TMP/in.sql")
(cd "$TMP/traced" && ms_run pre-inner sql timeout 600 "$MEMSCOPE_TOOL" run -q -o "$R" -- \
    "$SQLITE" -batch test.db <"$TMP/in.sql")
ms_not_hung sql
ms_compare sql stderr
echo "    ($ROWS rows, $((SECONDS - start)) s for both runs)"
grep -qx ok "$TMP/sql.pre.out" || ms_fail "integrity_check did not say ok"
grep -q "^$ROWS|" "$TMP/sql.pre.out" || ms_fail "the table does not have $ROWS rows"
cmp "$TMP/plain/test.db" "$TMP/traced/test.db" || ms_fail "the database files differ"
echo "ok: identical database files ($(wc -c <"$TMP/traced/test.db") bytes)"

shopt -s nullglob
reps=("$R"/sqlite3-*.json)
[ ${#reps[@]} = 1 ] || ms_fail "want one sqlite3 report in $R, got: $(ls "$R" 2>&1)"
ms_reports_check --pid name --program sqlite3 --mode exact --trigger exit "${reps[0]}"
base=${reps[0]%.json}
for ext in bin md html; do
    [ -s "$base.$ext" ] || ms_fail "no $ext report"
done
ms_no_tmp "$R"
