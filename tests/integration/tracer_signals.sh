#!/usr/bin/env bash
# tracer_signals.sh - snapshot signals under load: SIGUSR1 sent 100 times
# while 8 threads allocate (tests/programs/tracer_signals.c).
#  - the program's result (a checksum of its rounds of work) is the one it
#    prints without the library, it exits 0 and prints nothing on stderr;
#  - snapshots NAME.snapshot-N.json exist for N = 1..M, M >= 1, with no
#    gap (signals that arrive while one is written coalesce), each one
#    complete JSON with trigger "signal" and snapshot N, and the exit
#    report is complete too; summary.allocs never goes down from one to
#    the next.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3 mkfifo
ms_setup tracer_signals

export MEMSCOPE_NAME=sig MEMSCOPE_FORMATS=json
ms_run plain sig "$PROGS/tracer_signals" "$TMP/ready.plain" </dev/null

# The program runs until its stdin, a fifo, is closed; it says it is ready
# (its threads run, the library's handler is installed) with a file.
mkfifo "$TMP/ctl"
LD_PRELOAD=$MEMSCOPE_LIB "$PROGS/tracer_signals" "$TMP/ready" <"$TMP/ctl" \
    >"$TMP/sig.pre.out" 2>"$TMP/sig.pre.err" &
pid=$!
exec 3>"$TMP/ctl"
for _ in $(seq 1200); do
    [ -e "$TMP/ready" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
if [ ! -e "$TMP/ready" ]; then
    exec 3>&-
    wait "$pid" || true
    ms_fail "the program never became ready: $(head -5 "$TMP/sig.pre.err")"
fi
sent=0
for i in $(seq 100); do
    kill -USR1 "$pid" 2>/dev/null || break
    sent=$((sent + 1))
    # a pause now and then, so that more than one snapshot gets written
    [ $((i % 10)) -ne 0 ] || sleep 0.02
done
exec 3>&-
rc=0
wait "$pid" || rc=$?
echo "$rc" >"$TMP/sig.pre.rc"
[ "$sent" -eq 100 ] || ms_fail "only $sent signals could be sent: the program ended early (exit $rc)"
ms_compare sig stderr

/usr/bin/python3 - "$TMP/reports" "$pid" <<'PY'
import json, os, re, sys
out, pid = sys.argv[1], int(sys.argv[2])
fails = []
names = sorted(os.listdir(out))
snaps = {}
for n in names:
    m = re.fullmatch(r"sig\.snapshot-(\d+)\.json", n)
    if m:
        snaps[int(m.group(1))] = n
    elif re.fullmatch(r".*\.tmp\.\d+", n):
        # a snapshot cut short by the exit: not a report, but worth seeing
        print(f"note: a temporary file was left behind: {n}")
    elif n != "sig.json":
        fails.append(f"unexpected file in the report directory: {n}")
nums = sorted(snaps)
if not nums:
    fails.append("no snapshot was written")
elif nums != list(range(1, len(nums) + 1)):
    fails.append(f"snapshot numbers are not 1..{len(nums)}: {nums}")
allocs = []
for n in nums + [None]:
    path = os.path.join(out, snaps[n] if n else "sig.json")
    try:
        with open(path) as f:
            r = json.load(f)
    except Exception as e:
        fails.append(f"{os.path.basename(path)} is not complete JSON: {e}")
        continue
    want = ("signal", n) if n else ("exit", 0)
    if (r.get("trigger"), r.get("snapshot")) != want:
        fails.append(f"{os.path.basename(path)}: trigger {r.get('trigger')!r}, "
                     f"snapshot {r.get('snapshot')!r}, expected {want}")
    allocs.append(r["summary"]["allocs"])
    if r.get("pid") != pid:
        fails.append(f"{os.path.basename(path)}: pid {r.get('pid')}, expected {pid}")
if allocs != sorted(allocs):
    fails.append(f"summary.allocs goes down from one snapshot to the next: {allocs}")
if fails:
    print("FAIL:\n  " + "\n  ".join(fails), file=sys.stderr)
    sys.exit(1)
print(f"ok: 100 signals: snapshots 1..{len(nums)}, each complete JSON, and the exit report")
PY
