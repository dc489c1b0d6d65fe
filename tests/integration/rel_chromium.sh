#!/usr/bin/env bash
# rel_chromium.sh - Chromium headless under the library, zygote on.
# Chromium's zygote checks that it is single-threaded before it forks a
# renderer; with a thread of memscope's in every process it died by
# SIGTRAP and the browser gave up ("GPU process isn't usable. Goodbye.").
# tests/data/rel_chromium.html builds 200 list items in script: the DOM
# that --dump-dom prints under the library (exact mode, then sampled) must
# be the one of a plain run, the browser must exit 0 and its process
# (the pid started: Debian's /usr/bin/chromium execs the binary) writes a
# complete exit report.
set -euo pipefail
. "$(dirname "$0")/common.bash"

CHROMIUM=/usr/bin/chromium
ms_need /usr/bin/python3
[ -x "$CHROMIUM" ] || ms_skip "$CHROMIUM is not installed (Debian package chromium, make deps)"
ms_setup rel_chromium
# every process of the browser traced (its zygote and renderers are exec'd)
export MEMSCOPE_ENABLE=1 MEMSCOPE_AUTO_EXPORT=1 MEMSCOPE_FORMATS=json MEMSCOPE_CHILDREN=all
cp "$REPO/tests/data/rel_chromium.html" "$TMP/page.html"

# dom TAG [env...]: --dump-dom of the page, into $TMP/TAG.{out,log}; sets
# PID to the browser's pid.
dom() {
    local tag=$1 rc=0 profile
    shift
    profile=$(mktemp -d "$TMP/profile.XXXXXX")
    env "$@" "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --dump-dom "file://$TMP/page.html" \
        >"$TMP/$tag.out" 2>"$TMP/$tag.log" &
    PID=$!
    MS_PID=$PID
    ms_wait 120 "$tag"
    rc=$MS_RC
    [ $rc = 0 ] || ms_fail "$tag: chromium exited with status $rc: $(grep -v dbus "$TMP/$tag.log" | tail -5)"
    ! grep -q "Goodbye" "$TMP/$tag.log" || ms_fail "$tag: $(grep Goodbye "$TMP/$tag.log")"
}
dom plain
grep -q '<li>item 199 ' "$TMP/plain.out" || ms_fail "the plain run's DOM lacks the items the script builds (test is broken?)"
for mode in exact sampled; do
    sample=0
    [ $mode = sampled ] && sample=65536
    dom $mode LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_SAMPLE=$sample MEMSCOPE_OUT="$TMP/rep-$mode"
    cmp -s "$TMP/plain.out" "$TMP/$mode.out" ||
        ms_fail "$mode: the DOM differs from a plain run's: $(diff "$TMP/plain.out" "$TMP/$mode.out" | head -5)"
    report=$TMP/rep-$mode/chromium-$PID.json
    [ -s "$report" ] || ms_fail "$mode: the browser process ($PID) wrote no report: $(ls "$TMP/rep-$mode" | head -20 | tr '\n' ' ')"
    ms_reports_check --mode $mode --trigger exit --pid $PID "$report"
    echo "ok: $mode: chromium --dump-dom under the library, zygote on: same DOM ($(wc -c <"$TMP/$mode.out") bytes), browser report written"
done
ms_no_tmp "$TMP"
