#!/usr/bin/env bash
# roundtrip.sh - a binary report holds the whole report: every format the
# traced process wrote (json, md, html, folded, pprof) is, byte for byte, what
# `memscope report NAME.bin` writes again from its .bin, and the .bin
# written again from the .bin is the same file. Checked on the workload
# (threads, tasks, variables, a heap error) in exact and sampled mode with
# the timeline on, on a SIGUSR1 snapshot of a running process, and on
# python3 when it is installed.
set -euo pipefail
. "$(dirname "$0")/common.bash"

[ -x "$MEMSCOPE_TOOL" ] || ms_fail "$MEMSCOPE_TOOL not built (run make)"
WL=$(ms_prog ms_workload)
ms_setup roundtrip
T=$MEMSCOPE_TOOL
OUT=$TMP/out

# trace NAME CMD...: CMD with the library preloaded, every format, reports
# as $OUT/NAME.*
trace() {
    local name=$1
    shift
    LD_PRELOAD=$MEMSCOPE_LIB MEMSCOPE_OUT=$OUT MEMSCOPE_NAME=$name \
        MEMSCOPE_FORMATS=all "$@" >"$TMP/$name.stdout" 2>"$TMP/$name.stderr" ||
        ms_fail "$name: $* exited $? ($(head -3 "$TMP/$name.stderr"))"
}

# same_bytes WHAT EXPECTED CMD...: CMD's stdout is EXPECTED byte for byte
same_bytes() {
    local what=$1 want=$2
    shift 2
    "$@" >"$TMP/got" 2>"$TMP/got.err" || ms_fail "$what: $* exited $?: $(cat "$TMP/got.err")"
    [ ! -s "$TMP/got.err" ] || ms_fail "$what: $* wrote to stderr: $(head -3 "$TMP/got.err")"
    if ! cmp -s "$want" "$TMP/got"; then
        echo "$what: differs from $(basename "$want"): $(cmp "$want" "$TMP/got" 2>&1 | head -1)" >&2
        diff <(tr ',' '\n' <"$want") <(tr ',' '\n' <"$TMP/got") | head -10 >&2 || true
        ms_fail "$what"
    fi
}

# check NAME: every format of $OUT/NAME made again from $OUT/NAME.bin
check() {
    local name=$1 base=$OUT/$1 fmt n=0
    [ -s "$base.bin" ] || ms_fail "$name: no $name.bin written"
    for fmt in json md html folded pprof text; do
        ext=$fmt
        [ "$fmt" = pprof ] && ext=pb.gz
        [ "$fmt" = text ] && ext=txt
        if [ ! -e "$base.$ext" ]; then
            echo "$name: the process wrote no .$ext (format not built): skipped"
            continue
        fi
        same_bytes "$name.$fmt" "$base.$ext" env COLUMNS=80 "$T" report "$base.bin" --format "$fmt"
        n=$((n + 1))
    done
    [ -s "$base.json" ] || ms_fail "$name: no $name.json written"
    # -o writes the same bytes through the temp-and-rename writer
    "$T" report "$base.bin" --format json -o "$TMP/$name.o.json" ||
        ms_fail "$name: report -o failed"
    cmp -s "$base.json" "$TMP/$name.o.json" || ms_fail "$name: report -o differs"
    # the encoding is canonical: bin -> report -> bin is the same file
    "$T" report "$base.bin" --format bin -o "$TMP/$name.again.bin" ||
        ms_fail "$name: report --format bin failed"
    cmp -s "$base.bin" "$TMP/$name.again.bin" ||
        ms_fail "$name: the .bin written again differs from the process's"
    echo "ok: $name: $n formats identical from the .bin; .bin $(stat -c %s "$base.bin") bytes, .json $(stat -c %s "$base.json") bytes"
}

trace exact "$WL" run
check exact
grep -q '"heap_errors":\[{' "$OUT/exact.json" || ms_fail "exact: no heap error in the report"
grep -q '"variables":\[{' "$OUT/exact.json" || ms_fail "exact: no variable in the report"
grep -q '"tasks":\[{' "$OUT/exact.json" || ms_fail "exact: no task in the report"
grep -q '"name":"worker-2"' "$OUT/exact.json" || ms_fail "exact: no worker thread in the report"

# sampled: the per-site estimates are doubles, stored bit for bit
MEMSCOPE_SAMPLE=512 trace sampled "$WL" run
grep -q '"mode":"sampled"' "$OUT/sampled.json" || ms_fail "sampled: not in sampled mode"
check sampled

# a snapshot of a running process, on SIGUSR1
LD_PRELOAD=$MEMSCOPE_LIB MEMSCOPE_OUT=$OUT MEMSCOPE_NAME=snap MEMSCOPE_FORMATS=all \
    "$WL" serve 30 >"$TMP/serve.out" 2>"$TMP/serve.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$TMP"' EXIT
for _ in $(seq 500); do grep -qs ready "$TMP/serve.out" && break; sleep 0.02; done
grep -q ready "$TMP/serve.out" || ms_fail "the serving workload did not start"
sleep 0.1
kill -USR1 $pid
for _ in $(seq 500); do
    [ -e "$OUT/snap.snapshot-1.pb.gz" ] && break     # the last format written
    sleep 0.02
done
[ -e "$OUT/snap.snapshot-1.pb.gz" ] || ms_fail "no snapshot after SIGUSR1"
kill -TERM $pid
wait $pid || ms_fail "the serving workload exited $?"
grep -q '"trigger":"signal","snapshot":1' "$OUT/snap.snapshot-1.json" ||
    ms_fail "the snapshot's JSON is not snapshot 1 by signal"
check snap.snapshot-1
check snap

# a real program: many sites, long names, libraries without frame pointers
if [ -x /usr/bin/python3 ]; then
    trace python /usr/bin/python3 -c 'import json, re; print(len(json.dumps([re.escape(str(i)) for i in range(2000)])))'
    check python
else
    echo "python3 not installed: that check skipped"
fi
