#!/usr/bin/env bash
# info.sh - `memscope info FILE.bin` prints the file's format, version,
# size, checksum and sections, then the header and summary figures of the
# report, each equal to what the process's own JSON report says.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need python3
[ -x "$MEMSCOPE_TOOL" ] || ms_fail "$MEMSCOPE_TOOL not built (run make)"
WL=$(ms_prog ms_workload)
ms_setup info
T=$MEMSCOPE_TOOL

for mode in exact sampled; do
    sample=0
    [ $mode = sampled ] && sample=512
    LD_PRELOAD=$MEMSCOPE_LIB MEMSCOPE_OUT=$TMP/out MEMSCOPE_NAME=$mode MEMSCOPE_SAMPLE=$sample \
        MEMSCOPE_STACK_DEPTH=3 MEMSCOPE_FORMATS=bin,json "$WL" run || ms_fail "workload failed"
    "$T" info "$TMP/out/$mode.bin" >"$TMP/$mode.info" 2>"$TMP/$mode.err" ||
        ms_fail "info exited $?: $(cat "$TMP/$mode.err")"
    [ ! -s "$TMP/$mode.err" ] || ms_fail "info wrote to stderr: $(cat "$TMP/$mode.err")"
    python3 - "$TMP/$mode.info" "$TMP/out/$mode.bin" "$TMP/out/$mode.json" <<'PY' || ms_fail "$mode: info is wrong"
import json, os, re, sys
info = {}
for line in open(sys.argv[1]):
    k, _, v = line.rstrip("\n").partition(":")
    info[k] = v.strip()
data = open(sys.argv[2], "rb").read()
r = json.load(open(sys.argv[3]))
s = r["summary"]

def want(key, value):
    assert info.get(key) == value, "%s: %r, want %r" % (key, info.get(key), value)

want("file", sys.argv[2])
want("format", "memscope binary report, version 2, %d bytes" % len(data))
want("checksum", "xxh3-64 %016x (verified)" % int.from_bytes(data[-8:], "little"))
tags = re.findall(r"(\w{4})=(\d+)", info["sections"])
assert [t for t, _ in tags] == ["STRS", "HEAD", "SUMM", "kind", "ALOC", "HIST", "THRD", "TASK",
                                "VARS", "FRMS", "SITE", "HERR", "TIME", "leak", "rows"], tags
assert 24 + sum(12 + int(n) for _, n in tags) + 8 == len(data), tags
want("program", "%s (pid %d)" % (r["program"], r["pid"]))
want("trigger", "exit")
if r["sample_interval"]:
    want("mode", "sampled, one sample per %d bytes (figures per site are estimates)"
         % r["sample_interval"])
else:
    want("mode", "exact")
want("stack depth", "%d frames" % r["stack_depth"])
want("byte basis", r["byte_basis"])
want("allocations", "%d (%d bytes)" % (s["allocs"], s["bytes_allocated"]))
want("frees", "%d (%d bytes)" % (s["frees"], s["bytes_freed"]))
want("live", "%d blocks, %d bytes (peak %d)" % (s["live_blocks"], s["live_bytes"],
                                                s["peak_live_bytes"]))
want("counts", "%d threads, %d tasks, %d variables, %d sites, %d frames, %d timeline points"
     % (s["threads"], s["tasks"], s["variables"], s["sites"],
        len(r["frames"]),
        len(r["timeline"]["points"])))
want("heap errors", "%d (0 more not kept)" % len(r["heap_errors"]))
want("overhead", "%d bytes" % s["tracer_overhead_bytes"])
print("ok: %s: info agrees with the JSON report (%d lines)" % (r["mode"], len(info)))
PY
done

# A slow input shows a progress line on a terminal, erased before the
# output; without a terminal, nothing.
if command -v script >/dev/null 2>&1; then
    mkfifo "$TMP/slow.bin"
    (head -c 100 "$TMP/out/exact.bin"; sleep 1.5; tail -c +101 "$TMP/out/exact.bin") \
        >"$TMP/slow.bin" &
    script -qec "$T info $TMP/slow.bin" /dev/null >"$TMP/tty.out" </dev/null ||
        ms_fail "info of a slow input on a terminal failed: $(tail -3 "$TMP/tty.out")"
    wait
    grep -q $'\rmemscope: slow.bin' "$TMP/tty.out" ||
        ms_fail "no progress line on a terminal: $(head -c 300 "$TMP/tty.out" | od -c | head -5)"
    grep -q '^program: *ms_workload' "$TMP/tty.out" || ms_fail "no info after the progress line"
    echo "ok: a slow input shows a progress line on a terminal"
fi
mkfifo "$TMP/slow2.bin"
(head -c 100 "$TMP/out/exact.bin"; sleep 1.2; tail -c +101 "$TMP/out/exact.bin") >"$TMP/slow2.bin" &
"$T" info "$TMP/slow2.bin" >/dev/null 2>"$TMP/notty.err" || ms_fail "info of a slow input failed"
wait
[ ! -s "$TMP/notty.err" ] || ms_fail "progress shown without a terminal: $(cat "$TMP/notty.err")"
echo "ok: no progress line without a terminal"
