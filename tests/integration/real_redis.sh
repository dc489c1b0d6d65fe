#!/usr/bin/env bash
# real_redis.sh - Debian's redis-server (linked with libjemalloc, reads its
# heap's figures through mallctl) on memscope's malloc, loaded by
# redis-benchmark: a bounded run (50000 SETs and LPUSHes of 200 bytes over
# 20000 keys, 8 clients) on 127.0.0.1 only, on a port nothing listens on,
# with no persistence; redis is shut down when it ends.
#  - its mallctl binds to the library;
#  - INFO memory's allocator_allocated (the engine's stats.allocated, the
#    tracer's arena left out) is within 10 % of redis's own used_memory,
#    in every reading taken while redis-benchmark loads it past 8 MB, and
#    at the end of the load;
#  - the exit report's live bytes agree with the used_memory read just
#    before shutdown within 10 %: summary.live_bytes in sampled mode (the
#    engine's usable bytes), the sites' live usable bytes in exact mode
#    (redis counts usable sizes);
#  - no heap error, no untracked free.
set -euo pipefail
. "$(dirname "$0")/common.bash"

for p in redis-server redis-cli redis-benchmark; do
    command -v $p >/dev/null 2>&1 ||
        ms_skip "$p is not installed (make deps installs redis-server and redis-tools)"
done
ms_need /usr/bin/python3
ms_setup real_redis
# every process it starts traced too, as a program under test (the
# default, MEMSCOPE_CHILDREN=fork, leaves exec'd ones untraced)
export MEMSCOPE_CHILDREN=all
SERVER=$(command -v redis-server)
ldd "$SERVER" >"$TMP/ldd" || ms_fail "ldd $SERVER failed"
grep -q libjemalloc "$TMP/ldd" || ms_skip "$SERVER does not link libjemalloc"

MS_BIND_SYMS="mallctl malloc free" ms_assert_binds "$SERVER" "$SERVER" --version
rm -rf "$TMP/reports"

SPID=
cleanup() {
    [ -n "$SPID" ] && kill -KILL "$SPID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

field() {   # FILE NAME: NAME's value in an INFO reply
    tr -d '\r' <"$1" | awk -F: -v k="$2" '$1 == k { print $2 }'
}

# one_run MODE: redis under the library with MEMSCOPE_SAMPLE=MODE
one_run() {
    local mode=$1 port i n=0 bpid
    port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$TMP/$mode"
    MEMSCOPE_SAMPLE=$mode MEMSCOPE_NAME=redis$mode MEMSCOPE_FORMATS=json \
        LD_PRELOAD=$MEMSCOPE_LIB "$SERVER" --port "$port" --bind 127.0.0.1 \
        --save "" --appendonly no --dir "$TMP/$mode" >"$TMP/$mode/server.log" 2>&1 &
    SPID=$!
    for i in $(seq 100); do
        redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && break
        kill -0 "$SPID" 2>/dev/null || ms_fail "$mode: redis-server died: $(tail -3 "$TMP/$mode/server.log")"
        sleep 0.1
    done
    redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 || ms_fail "$mode: redis-server did not answer"
    timeout 120 redis-benchmark -h 127.0.0.1 -p "$port" -n 50000 -c 8 -t set,lpush \
        -d 200 -r 20000 -q >"$TMP/$mode/bench.log" 2>&1 &
    bpid=$!
    while kill -0 "$bpid" 2>/dev/null; do
        redis-cli -h 127.0.0.1 -p "$port" info memory >"$TMP/$mode/info.$n" 2>/dev/null || true
        n=$((n + 1))
        sleep 0.2
    done
    wait "$bpid" || ms_fail "$mode: redis-benchmark failed: $(tail -3 "$TMP/$mode/bench.log")"
    redis-cli -h 127.0.0.1 -p "$port" info memory >"$TMP/$mode/info.end" ||
        ms_fail "$mode: INFO after the load failed"
    redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
    local rc=0
    for i in $(seq 300); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SPID" 2>/dev/null && ms_fail "$mode: redis-server did not stop"
    wait "$SPID" || rc=$?
    SPID=
    [ $rc = 0 ] || ms_fail "$mode: redis-server exited $rc: $(tail -3 "$TMP/$mode/server.log")"
    [ -f "$TMP/reports/redis$mode.json" ] || ms_fail "$mode: no exit report"
    # the readings, one line each: used_memory allocator_allocated
    for f in "$TMP/$mode"/info.*; do
        u=$(field "$f" used_memory) a=$(field "$f" allocator_allocated)
        if [ -n "$u" ] && [ -n "$a" ]; then echo "$(basename "$f") $u $a"; fi
    done >"$TMP/$mode/readings"
}

one_run 524288
one_run 0

/usr/bin/python3 - "$TMP" <<'PY'
import json, sys
tmp = sys.argv[1]
fails = []
for mode in ("524288", "0"):
    rows = [l.split() for l in open(f"{tmp}/{mode}/readings")]
    load = [(n, int(u), int(a)) for n, u, a in rows if n != "info.end" and int(u) >= 8 << 20]
    end = [(n, int(u), int(a)) for n, u, a in rows if n == "info.end"]
    if not end:
        fails.append(f"{mode}: no INFO memory after the load")
        continue
    if not load:
        print(f"note: {mode}: no reading past 8 MB during the load (it ended first)")
    for n, u, a in load + end:
        if abs(a - u) > 0.10 * u:
            fails.append(f"{mode}: {n}: allocator_allocated {a} vs used_memory {u}: "
                         f"{100 * (a - u) / u:+.1f} %")
    used = end[0][1]
    r = json.load(open(f"{tmp}/reports/redis{mode}.json"))
    s = r["summary"]
    if mode == "0":
        live, what = sum(x["live_usable_bytes"] for x in r["sites"]), "live usable bytes"
    else:
        live, what = s["live_bytes"], "live_bytes"
    if abs(live - used) > 0.10 * used:
        fails.append(f"{mode}: exit report {what} {live} vs used_memory {used}: "
                     f"{100 * (live - used) / used:+.1f} %")
    if s["heap_errors"] or s["untracked_frees"]:
        fails.append(f"{mode}: heap_errors {s['heap_errors']}, untracked_frees {s['untracked_frees']}")
    ok = "exact" if mode == "0" else "sampled"
    print(f"ok: {ok}: {len(load)} readings during the load and one after: allocator_allocated "
          f"within 10 % of used_memory (end: {end[0][2]} vs {used}); exit report {what} {live} "
          f"({100 * (live - used) / used:+.1f} %)")
if fails:
    sys.exit("FAIL:\n  " + "\n  ".join(fails))
PY
