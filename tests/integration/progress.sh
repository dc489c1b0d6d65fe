#!/usr/bin/env bash
# progress.sh - the progress line of `memscope report` and `memscope diff`
# (cli/util.c): shown on stderr only when stderr is a terminal and the
# command has run more than a second, redrawn while a phase goes on
# without news (here: an input that stalls 2.5 s), erased before the
# output; never without a terminal.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need script
ms_setup progress
T=$MEMSCOPE_TOOL
PROG=$(ms_prog report_prog)
env MEMSCOPE_OUT="$TMP/r" MEMSCOPE_NAME=x MEMSCOPE_FORMATS=bin LD_PRELOAD="$MEMSCOPE_LIB" \
    "$PROG" >/dev/null 2>&1 || ms_fail "report_prog failed"
BIN=$TMP/r/x.bin
[ -s "$BIN" ] || ms_fail "no x.bin"

# slow NAME SECONDS: a fifo that gives BIN's first 100 bytes, stalls, then the rest
slow() {
    rm -f "$TMP/$1"
    mkfifo "$TMP/$1"
    (head -c 100 "$BIN"; sleep "$2"; tail -c +101 "$BIN") >"$TMP/$1" &
}

# on_tty TAG CMD: CMD on a terminal of 80 columns; its output in $TMP/TAG.tty
on_tty() {
    local tag=$1
    shift
    timeout 60 script -qec "stty cols 80 rows 24 2>/dev/null; $*" /dev/null </dev/null \
        >"$TMP/$tag.tty" 2>&1 || ms_fail "$tag on a terminal failed: $(tail -c 300 "$TMP/$tag.tty")"
    wait
}

# draws TAG: how many times the progress line was drawn
draws() { grep -o $'\rmemscope: [^\r]*\033\\[K' "$TMP/$1.tty" | wc -l; }

for cmd in report diff; do
    slow "$cmd.bin" 2.5
    if [ $cmd = report ]; then
        on_tty $cmd "'$T' report --format json '$TMP/$cmd.bin' -o '$TMP/$cmd.json'"
        [ -s "$TMP/$cmd.json" ] || ms_fail "report wrote nothing"
    else
        on_tty $cmd "'$T' diff '$TMP/$cmd.bin' '$BIN' -o '$TMP/$cmd.md'"
        [ -s "$TMP/$cmd.md" ] || ms_fail "diff wrote nothing"
    fi
    n=$(draws $cmd)
    [ "$n" -ge 4 ] || ms_fail "$cmd: the progress line was drawn $n times in a 2.5 s stall: $(od -c "$TMP/$cmd.tty" | head -8)"
    grep -q $'\rmemscope: '"$cmd"'.bin (' "$TMP/$cmd.tty" ||
        ms_fail "$cmd: the line does not name the input being read: $(od -c "$TMP/$cmd.tty" | head -5)"
    [ "$(tail -c 4 "$TMP/$cmd.tty")" = $'\r\033[K' ] ||
        ms_fail "$cmd: the line was not erased at the end: $(tail -c 40 "$TMP/$cmd.tty" | od -c)"
    echo "ok: $cmd on a terminal: the progress line drawn $n times during the stall, then erased"
done

# the report itself on the terminal: the line is erased before it
slow tty.bin 1.5
on_tty text "'$T' report '$TMP/tty.bin'"
grep -q $'\rmemscope: tty.bin (' "$TMP/text.tty" || ms_fail "no progress line before the text report"
# (through a file: grep -q in a pipe would end it early, a failure under pipefail)
tr -d '\r' <"$TMP/text.tty" | sed 's/^.*\x1b\[K//' >"$TMP/text.plain"
grep -q '^memscope report: report_prog' "$TMP/text.plain" ||
    ms_fail "the text report does not follow the erased line"
if sed -n '/^memscope report:/,$p' "$TMP/text.plain" | grep -c $'\033' >/dev/null; then
    ms_fail "the progress line was drawn into the report"
fi
echo "ok: report to the terminal: progress, erased, then the report alone"

# never without a terminal
for cmd in report diff; do
    slow "n$cmd.bin" 1.5
    if [ $cmd = report ]; then
        "$T" report "$TMP/n$cmd.bin" --format md >/dev/null 2>"$TMP/n$cmd.err" || ms_fail "report failed"
    else
        "$T" diff "$TMP/n$cmd.bin" "$BIN" >/dev/null 2>"$TMP/n$cmd.err" || ms_fail "diff failed"
    fi
    wait
    [ ! -s "$TMP/n$cmd.err" ] || ms_fail "$cmd: progress without a terminal: $(od -c "$TMP/n$cmd.err" | head -3)"
done
echo "ok: no progress line without a terminal (report, diff)"
