#!/usr/bin/env bash
# dashboard_logic.sh - the HTML dashboard's pure logic (exporters/html/
# logic.js: formatting, table sorting and filtering, timeline scales, flame
# graph layout, task tree) under node --test, no browser: every test in
# tests/web/*.test.js must pass, and there must be some. The page itself,
# drawn in Chromium, is report_html.sh's.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need node
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$major" -ge 18 ] || ms_skip "node $(node --version 2>/dev/null) has no node --test (18 or later needed)"
ms_setup dashboard_logic
shopt -s nullglob
files=("$REPO"/tests/web/*.test.js)
[ ${#files[@]} -gt 0 ] || ms_fail "no tests/web/*.test.js"
rc=0
node --test --test-reporter=tap "${files[@]}" >"$TMP/tap" 2>&1 || rc=$?
pass=$(sed -n 's/^# pass //p' "$TMP/tap")
fail=$(sed -n 's/^# fail //p' "$TMP/tap")
if [ $rc != 0 ] || [ "${fail:-1}" != 0 ] || [ "${pass:-0}" -lt 1 ]; then
    grep -E '^not ok|^ +(error|expected|actual|name|location):' -A2 "$TMP/tap" | head -60 >&2 || cat "$TMP/tap" >&2
    ms_fail "node --test: ${pass:-?} passed, ${fail:-?} failed (exit $rc)"
fi
echo "ok: node --test (node $(node --version)): $pass tests passed in ${#files[@]} file(s)"
