#!/usr/bin/env bash
# top.sh - `memscope top PID` (cli/top.c) on tests/programs/top_prog.c,
# which grows grow_known to 64 blocks of 4096 bytes, holds them, prints
# "started", "grown", "done" and exits 3.
# - `memscope top --batch -n 0.2 PID` while it runs: views until the
#   process exits (then status 0); once grown, grow_known is first among
#   the sites holding the most live bytes with 256.0 KiB in 64 blocks, and
#   first among those that grew, its thread named (thread 1 top_prog);
#   the heap line's live bytes are the
#   report's; the program's output and exit status are those of a plain
#   run, and it writes no numbered snapshot; the live file is gone after.
# - --once prints one view and exits 0 with the program still running.
# - SIGTERM ends --batch with status 0 and the live file removed.
# - On a terminal (under `script`), the view redraws until q, which quits
#   with status 0 and leaves the program running.
# - A process without memscope, one that has exited, and a bad PID: one
#   line on stderr and status 1 (2 for bad usage).
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_setup top
T=$MEMSCOPE_TOOL
P=$(ms_prog top_prog)
export LC_ALL=C

"$P" 1500 >"$TMP/plain.out" 2>&1 && rc=0 || rc=$?
[ $rc = 3 ] || ms_fail "top_prog exits $rc plainly, not 3"

start() {    # TAG HOLD_MS: the program, traced, in the background as $pid
    LD_PRELOAD=$MEMSCOPE_LIB MEMSCOPE_OUT=$TMP/out MEMSCOPE_FORMATS=bin,json \
        "$P" "$2" >"$TMP/$1.out" 2>"$TMP/$1.err" &
    pid=$!
    for _ in $(seq 500); do grep -qs started "$TMP/$1.out" && break; sleep 0.01; done
    grep -qs started "$TMP/$1.out" || ms_fail "$1: top_prog did not start"
}

start batch 1500
"$T" top --batch -n 0.2 "$pid" >"$TMP/top.out" 2>"$TMP/top.err" && trc=0 || trc=$?
wait "$pid" && prc=0 || prc=$?
[ $trc = 0 ] || ms_fail "top --batch exited $trc: $(cat "$TMP/top.err")"
[ $prc = 3 ] || ms_fail "the traced program exited $prc, not 3"
cmp -s "$TMP/plain.out" "$TMP/batch.out" ||
    ms_fail "the program's output changed: $(diff "$TMP/plain.out" "$TMP/batch.out" | head -5)"
grep -qx "memscope top: process $pid exited" "$TMP/top.err" || ms_fail "no exit line: $(cat "$TMP/top.err")"
ls "$TMP/out" | grep -q 'snapshot\|live' && ms_fail "files left besides the exit reports: $(ls "$TMP/out")"
[ -s "$TMP/out/top_prog-$pid.json" ] || ms_fail "no exit report"
echo "ok: --batch ran until the program exited; its output, status and reports unchanged"

/usr/bin/python3 - "$TMP/top.out" <<'EOF'
import re, sys
views = [v for v in open(sys.argv[1]).read().split("\n\n") if v.startswith("memscope top: ")]
text = open(sys.argv[1]).read()
lines = text.split("\n")
assert all(len(l) <= 80 for l in lines), "a line over 80 columns"
vs = text.split("\nmemscope top: ")
if len(vs) < 4:
    sys.exit(f"FAIL: {len(vs)} views in {text.count(chr(10))} lines; want several at -n 0.2")
def rows(view, title):
    part = view.split("\n" + title + "\n", 1)
    if len(part) < 2:
        return None
    out = []
    for l in part[1].split("\n")[1:]:
        if l.startswith("      thread ") and out:
            out[-1] = out[-1][:6] + (l.strip(),)
            continue
        m = re.match(r"^ *(\d+)\. +(\S+ \S+) +(\d+) +([+-]\S+ \S+) +(\d+)  (.*)$", l)
        if not m:
            break
        out.append(m.groups() + ("",))
    return out
good = 0
for v in vs[1:]:
    live, grew = rows(v, "MOST LIVE BYTES"), rows(v, "GREW MOST SINCE THE VIEW STARTED")
    if live is None or grew is None:
        sys.exit("FAIL: a view without its two lists:\n" + v)
    if live and live[0][5].startswith("grow_known ") and live[0][1] == "256.0 KiB" and live[0][2] == "64":
        good += 1
        if not (grew and grew[0][5].startswith("grow_known ") and grew[0][3].startswith("+")):
            sys.exit("FAIL: grow_known is not first among the sites that grew:\n" + v)
        if not live[0][6].startswith("thread 1 top_prog"):
            sys.exit("FAIL: grow_known's row does not name its thread: " + repr(live[0][6]))
        if not re.search(r"top_prog\.c:\d+", live[0][5]):
            sys.exit("FAIL: grow_known's row has no file:line: " + live[0][5])
        m = re.search(r"^heap +(\S+ \S+) live in (\d+) blocks", v, re.M)
        if not m or int(m.group(2)) < 74:
            sys.exit("FAIL: the heap line does not hold the 74 blocks kept: " + v.split("\n")[1])
if good < 2:
    sys.exit(f"FAIL: grow_known with 256.0 KiB in 64 blocks on top in {good} views of {len(vs) - 1}")
print(f"ok: {len(vs) - 1} views; grow_known on top with 256.0 KiB in 64 blocks in {good}, first to grow")
EOF

# --once: one view, the program runs on
start once 6000
"$T" top --once "$pid" >"$TMP/once.out" 2>"$TMP/once.err" || ms_fail "top --once failed: $(cat "$TMP/once.err")"
[ "$(grep -c '^memscope top: ' "$TMP/once.out")" = 1 ] || ms_fail "--once did not print one view"
kill -0 "$pid" 2>/dev/null || ms_fail "the program did not survive --once"
echo "ok: --once printed one view, the program runs on"

# SIGTERM ends --batch as q does: status 0, the live file removed
"$T" top --batch -n 0.2 "$pid" >"$TMP/term.out" 2>"$TMP/term.err" &
tpid=$!
for _ in $(seq 300); do [ "$(grep -c '^memscope top: ' "$TMP/term.out")" -ge 2 ] && break; sleep 0.02; done
kill -TERM "$tpid"
wait "$tpid" && trc=0 || trc=$?
[ $trc = 0 ] || ms_fail "top --batch exited $trc on SIGTERM: $(cat "$TMP/term.err")"
ls "$TMP/out" | grep -q 'live' && ms_fail "SIGTERM left the live file: $(ls "$TMP/out")"
kill -0 "$pid" 2>/dev/null || ms_fail "the program did not survive the view's SIGTERM"
echo "ok: SIGTERM ends --batch with status 0 and removes the live file"

# on a terminal: redraws until q
if command -v script >/dev/null 2>&1; then
    (sleep 1.2; printf q) | timeout 20 script -qec "stty cols 80 rows 30; '$T' top -n 0.2 $pid" /dev/null \
        >"$TMP/tty.out" 2>&1 && src=0 || src=$?
    [ $src = 0 ] || ms_fail "top on a terminal exited $src: $(tail -c 300 "$TMP/tty.out")"
    n=$(grep -o $'\033\\[H\033\\[2J' "$TMP/tty.out" | wc -l)
    [ "$n" -ge 2 ] || ms_fail "top on a terminal drew $n times"
    kill -0 "$pid" 2>/dev/null || ms_fail "the program did not survive q"
    echo "ok: on a terminal, $n views until q; the program runs on"
fi
wait "$pid" && prc=0 || prc=$?
[ $prc = 3 ] || ms_fail "the program exited $prc after the views, not 3"
grep -qx done "$TMP/once.out" || ms_fail "the program did not finish after the views"

# `memscope run`'s own pid ($! of a run in the background) stands for the
# program it runs, for top and for snapshot alike
MEMSCOPE_LIB=$MEMSCOPE_LIB "$T" run -q -o "$TMP/rout" --formats bin,json -- "$P" 3000 \
    >"$TMP/run.out" 2>"$TMP/run.err" &
rpid=$!
for _ in $(seq 500); do grep -qs started "$TMP/run.out" && break; sleep 0.01; done
"$T" top --once "$rpid" >"$TMP/ronce.out" 2>"$TMP/ronce.err" ||
    ms_fail "top --once on memscope run's pid failed: $(cat "$TMP/ronce.err")"
child=$(grep -o '(pid [0-9]*)' "$TMP/ronce.out" | head -1 | tr -dc 0-9)
[ -n "$child" ] && [ "$child" != "$rpid" ] ||
    ms_fail "top on memscope run's pid did not view its program: $(head -2 "$TMP/ronce.out")"
"$T" snapshot "$rpid" >"$TMP/rsnap.out" 2>"$TMP/rsnap.err" ||
    ms_fail "snapshot of memscope run's pid failed: $(cat "$TMP/rsnap.err")"
wait "$rpid" && rrc=0 || rrc=$?
[ $rrc = 3 ] || ms_fail "memscope run exited $rrc, not 3"
ls "$TMP/rout" | grep -q "^top_prog-$child\.snapshot-1\.json$" ||
    ms_fail "no snapshot of the program: $(ls "$TMP/rout")"
echo "ok: top and snapshot given memscope run's pid view and snapshot its program ($child)"

# errors: one line, status 1
one_line() {    # WHAT WANT_RC CMD...
    local what=$1 want=$2 rc
    shift 2
    "$@" >"$TMP/e.out" 2>"$TMP/e.err" && rc=0 || rc=$?
    [ $rc = "$want" ] || ms_fail "$what: exit $rc, not $want"
    [ "$(wc -l <"$TMP/e.err")" = 1 ] || ms_fail "$what: not one line on stderr: $(cat "$TMP/e.err")"
    [ ! -s "$TMP/e.out" ] || ms_fail "$what: wrote to stdout"
    echo "ok: $what: $(cat "$TMP/e.err")"
}
sleep 30 &
spid=$!
one_line "a process without memscope" 1 "$T" top --once "$spid"
one_line "a process without memscope, --batch" 1 "$T" top --batch -n 0.2 "$spid"
kill "$spid"
wait "$spid" 2>/dev/null || true
one_line "a process that has exited" 1 "$T" top --once "$spid"
one_line "not a process id" 2 "$T" top --once 12x
one_line "a bad interval" 2 "$T" top -n 0 "$pid"
