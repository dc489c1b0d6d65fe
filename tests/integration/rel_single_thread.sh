#!/usr/bin/env bash
# rel_single_thread.sh - no thread of memscope's lives in the program
# (tests/programs/rel_single_thread.c), exact and sampled mode:
#  1. a single-threaded program sees one entry in /proc/self/task under
#     the library, before it asks for a snapshot and after the snapshot is
#     written (the helper that wrote it is gone); a forked child of it can
#     still unshare(CLONE_NEWUSER), which the kernel refuses to a process
#     with two threads;
#  2. `unshare -U true` exits 0 under the library, as without it;
#  3. an idle program waiting in poll (then epoll_wait) for its stdin,
#     allocating nothing, takes each of 3 snapshots within 1 s of
#     kill -USR1 (by the report's own start_unix_ns + duration_ns: how
#     long the exporters then take to write it, on a loaded machine, is
#     theirs), has one thread before and after each, and exits with its
#     exit report when stdin closes;
#  4. the timeline, taken from the hooks: a program busy for 300 ms, asleep
#     for 400 ms, busy for 300 ms again (MEMSCOPE_INTERVAL_MS=5) has points
#     at least 5 ms apart, at least 10 in each busy stretch (60 at most;
#     fewer on a loaded machine), none during the sleep (one gap of 350 ms
#     or more, only one over 200 ms), a live heap that grows across them;
#     and blocks it made before the sleep and freed after it have
#     lifetimes of 256 ms or more.
# The unshare checks of parts 1 and 2 are skipped (with the reason) where
# the kernel refuses user namespaces even to a plain run.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup rel_single_thread
P=$(ms_prog rel_single_thread)

userns=1
if ! unshare -U true 2>/dev/null; then
    userns=0
    echo "note: unshare -U is refused here even without the library: parts 1-2 skipped"
fi

for mode in exact sampled; do
    sample=0
    [ $mode = sampled ] && sample=4096
    export MEMSCOPE_SAMPLE=$sample MEMSCOPE_FORMATS=json

    # ---- 1. one thread, before and after a snapshot ----------------------
    out=$TMP/tasks-$mode
    MEMSCOPE_OUT=$out MEMSCOPE_NAME=tasks LD_PRELOAD=$MEMSCOPE_LIB \
        "$P" tasks "$out" >"$TMP/tasks.$mode.out" 2>"$TMP/tasks.$mode.err" ||
        ms_fail "$mode: rel_single_thread tasks failed: $(head -5 "$TMP/tasks.$mode.err")"
    want="tasks 1
snapshot written
tasks 1
unshare ok"
    [ $userns = 1 ] || want=$(printf '%s\n' "$want" | sed '$d')
    got=$(cat "$TMP/tasks.$mode.out")
    [ $userns = 1 ] || got=$(printf '%s\n' "$got" | sed '$d')
    [ "$got" = "$want" ] ||
        ms_fail "$mode: the program saw: $(tr '\n' ';' <"$TMP/tasks.$mode.out"), want: $(printf '%s' "$want" | tr '\n' ';')"
    [ ! -s "$TMP/tasks.$mode.err" ] || ms_fail "$mode: stderr: $(head -3 "$TMP/tasks.$mode.err")"
    ms_reports_check --mode $mode --trigger exit "$out/tasks.json"
    ms_reports_check --mode $mode --trigger signal "$out/tasks.snapshot-1.json"
    echo "ok: $mode: one thread before and after a snapshot${userns:+ (and unshare(CLONE_NEWUSER) works after it)}"

    # ---- 2. unshare -U true ----------------------------------------------
    if [ $userns = 1 ]; then
        MEMSCOPE_OUT=$TMP/unshare-$mode LD_PRELOAD=$MEMSCOPE_LIB unshare -U true \
            2>"$TMP/unshare.$mode.err" ||
            ms_fail "$mode: unshare -U true failed under the library: $(head -3 "$TMP/unshare.$mode.err")"
        echo "ok: $mode: unshare -U true exits 0 under the library"
    fi

    # ---- 3. an idle process gets its snapshots ---------------------------
    for wait in poll epoll; do
        /usr/bin/python3 - "$MEMSCOPE_LIB" "$P" "$TMP" $wait $mode <<'PY'
import json, os, signal, subprocess, sys, time
lib, prog, tmp, wait, mode = sys.argv[1:]
out = os.path.join(tmp, f"idle-{wait}-{mode}")
ready = out + ".ready"
env = dict(os.environ, LD_PRELOAD=lib, MEMSCOPE_OUT=out, MEMSCOPE_NAME="idle",
           MEMSCOPE_FORMATS="json")
p = subprocess.Popen([prog, wait, ready], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
fails = []
def tasks():
    return len(os.listdir(f"/proc/{p.pid}/task"))
def fail(msg):
    p.kill()
    p.wait()
    sys.exit(f"FAIL: {wait}, {mode}: {msg}")
t0 = time.monotonic()
while not os.path.exists(ready):
    if p.poll() is not None or time.monotonic() - t0 > 30:
        fail(f"the program never became ready: {p.stderr.read()[:300]!r}")
    time.sleep(0.01)
time.sleep(0.2)     # in poll by now
if tasks() != 1:
    fail(f"{tasks()} threads before any snapshot")
worst = 0
written = 0
for n in (1, 2, 3):
    t, wall = time.monotonic(), time.time()
    os.kill(p.pid, signal.SIGUSR1)
    f = os.path.join(out, f"idle.snapshot-{n}.json")
    while not os.path.exists(f) and time.monotonic() - t < 30:
        time.sleep(0.002)
    if not os.path.exists(f):
        fail(f"snapshot {n} not written 30 s after the signal")
    written = max(written, time.monotonic() - t)
    # when the report was taken, by its own clock: the writer's start is
    # ours; how long writing takes is the exporters' (symbols, formats)
    r = json.load(open(f))
    took = (r["start_unix_ns"] + r["duration_ns"]) / 1e9 - wall
    if took > 1.0:
        fail(f"snapshot {n} was taken {took:.3f} s after the signal (limit 1 s)")
    worst = max(worst, took)
    t = time.monotonic()
    while tasks() != 1 and time.monotonic() - t < 2:
        time.sleep(0.005)
    if tasks() != 1:
        fail(f"{tasks()} threads 2 s after snapshot {n} was written")
p.stdin.close()
rc = p.wait(timeout=60)
so, se = p.stdout.read(), p.stderr.read()
if rc != 0 or so != b"stdin closed\n" or se:
    fail(f"exit {rc}, stdout {so!r}, stderr {se[:300]!r}")
if not os.path.exists(os.path.join(out, "idle.json")):
    fail("no exit report")
print(f"ok: {wait}, {mode}: idle process, 3 snapshots, each taken within {worst:.3f} s "
      f"of its signal (written within {written:.3f} s), one thread before and after "
      "each, exit report")
PY
        ms_reports_check --mode $mode --trigger exit "$TMP/idle-$wait-$mode/idle.json"
    done
done

# ---- 4. the timeline of a busy program, flat while it sleeps -------------
for mode in exact sampled; do
    sample=0
    [ $mode = sampled ] && sample=4096
    MEMSCOPE_SAMPLE=$sample MEMSCOPE_INTERVAL_MS=5 MEMSCOPE_FORMATS=json \
        MEMSCOPE_TEST_MODE=0 MEMSCOPE_OUT=$TMP/tl-$mode MEMSCOPE_NAME=tl \
        LD_PRELOAD=$MEMSCOPE_LIB "$P" timeline >"$TMP/tl.$mode.out" 2>"$TMP/tl.$mode.err" ||
        ms_fail "$mode: rel_single_thread timeline failed: $(head -3 "$TMP/tl.$mode.err")"
    /usr/bin/python3 - "$TMP/tl-$mode/tl.json" $mode <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
mode = sys.argv[2]
cols = r["timeline"]["columns"]
pts = [dict(zip(cols, p)) for p in r["timeline"]["points"]]
t = [p["t_ns"] / 1e6 for p in pts]
fails = []
gaps = [b - a for a, b in zip(t, t[1:])]
if any(g < 4.5 for g in gaps[:-1]):     # the last one is the report's own
    fails.append(f"points closer than the 5 ms interval: {min(gaps[:-1]):.2f} ms")
big = [i for i, g in enumerate(gaps) if g > 200]
if len(big) != 1 or gaps[big[0]] < 350:
    fails.append(f"want one gap of 350 ms or more (the sleep) and no other over 200 ms: "
                 f"{[round(gaps[i]) for i in big]}")
else:
    before, after = big[0] + 1, len(t) - big[0] - 1
    if before < 10 or after < 10:
        fails.append(f"{before} points before the sleep, {after} after: want 10 or more each")
    live = [p["heap_live"] for p in pts]
    if not live[big[0] + 1] > live[0]:
        fails.append(f"the live heap did not grow: {live[0]} .. {live[big[0] + 1]}")
long_lived = sum(b["count"] for b in r["lifetime_histogram"] if b["min_ms"] >= 256)
want = 100 if mode == "exact" else 1
if long_lived < want:
    fails.append(f"{long_lived} blocks with a lifetime of 256 ms or more, want {want} or more")
if fails:
    sys.exit(f"FAIL: timeline, {mode}: " + "; ".join(fails))
print(f"ok: timeline, {mode}: {len(pts)} points, one {round(gaps[big[0]])} ms gap for the sleep, "
      f"{long_lived} blocks lived 256 ms or more")
PY
done
ms_no_tmp "$TMP"
