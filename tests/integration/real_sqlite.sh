#!/usr/bin/env bash
# real_sqlite.sh - Debian's sqlite3 shell on memscope's malloc: a 100k-row
# table built with a recursive CTE, indexes, aggregates, GROUP BY, joins,
# window functions, updates and deletes (tests/data/sqlite_workload.sql),
# on a database file and in memory. Output, stderr, exit status and the
# database file itself must be those of a run without the library.
set -euo pipefail
. "$(dirname "$0")/common.bash"

SQLITE=/usr/bin/sqlite3
ms_need "$SQLITE"
ms_setup real_sqlite
# every process it starts traced too, as a program under test (the
# default, MEMSCOPE_CHILDREN=fork, leaves exec'd ones untraced)
export MEMSCOPE_CHILDREN=all
SQL=$REPO/tests/data/sqlite_workload.sql

ms_assert_binds "$SQLITE" "$SQLITE" :memory: 'select 1'

# on a database file: each run in its own directory
for mode in plain pre; do
    mkdir "$TMP/$mode"
    (cd "$TMP/$mode" && ms_run "$mode" file "$SQLITE" -batch test.db <"$SQL")
done
ms_compare file stderr
grep -qx ok "$TMP/file.pre.out" || ms_fail "integrity_check did not say ok"
if ! cmp "$TMP/plain/test.db" "$TMP/pre/test.db"; then
    ms_fail "the database files differ"
fi
echo "ok: identical database files ($(wc -c <"$TMP/pre/test.db") bytes)"

# in memory, the script on standard input
ms_run plain memory "$SQLITE" -batch :memory: <"$SQL"
ms_run pre memory "$SQLITE" -batch :memory: <"$SQL"
ms_compare memory stderr
cmp -s "$TMP/file.plain.out" "$TMP/memory.plain.out" ||
    ms_fail "in-memory and on-disk results differ (test is broken?)"
