#!/usr/bin/env bash
# rel_options_newline.sh - a refused option value with a newline (or
# another control character) in it still gives one warning line: a value
# cannot forge lines in the program's stderr. Output and status unchanged.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_setup rel_options_newline
P=$PROGS/rel_exit
ms_run plain work "$P" work 3
for opt in MEMSCOPE_ENABLE MEMSCOPE_SAMPLE MEMSCOPE_NAME; do
    value=$'yes\nmemscope: forged line'
    [ $opt = MEMSCOPE_NAME ] && value=$'a/\nmemscope: forged line'
    ms_run pre $opt timeout 60 env "$opt=$value" "$P" work 3
    ms_not_hung $opt
    [ "$(cat "$TMP/$opt.pre.rc")" = 3 ] || ms_fail "$opt: exit status $(cat "$TMP/$opt.pre.rc"), want 3"
    cmp -s "$TMP/work.plain.out" "$TMP/$opt.pre.out" || ms_fail "$opt: stdout differs from a plain run"
    if [ "$(wc -l <"$TMP/$opt.pre.err")" != 1 ]; then
        echo "$opt: a value with a newline gives $(wc -l <"$TMP/$opt.pre.err") lines on stderr:" >&2
        cat "$TMP/$opt.pre.err" >&2
        ms_fail "$opt: the warning is not one line (the value is printed raw)"
    fi
    echo "ok: $opt: one warning line: $(cat "$TMP/$opt.pre.err")"
done
