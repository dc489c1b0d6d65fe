#!/usr/bin/env bash
# rel_fork.sh - fork while 16 threads allocate, REL_FORKS times in exact
# and as many in sampled mode (20 + 20 in make check; 200 + 200 in make
# stress), with tests/programs/rel_fork.c.
# No child may crash or hang (a hang prints the child's stacks). The parent
# writes NAME.json, each forked child its own complete NAME-<childpid>.json
# (and .bin), in which (exact mode) the 100 blocks of 3333 bytes the child
# leaked are its leaks. Every tenth child execs a traced program
# (rel_exit work) without MEMSCOPE_NAME, and one more is started with
# posix_spawn: each writes rel_exit-<pid>.json (MEMSCOPE_CHILDREN=all: the
# default, fork, leaves exec'd children alone). No other report, and no
# temporary file, is left.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup rel_fork
FORKS=${REL_FORKS:-20}
THREADS=16

for mode in exact sampled; do
    sample=0
    [ $mode = sampled ] && sample=64k
    out=$TMP/$mode
    start=$SECONDS
    ms_timed $((FORKS * 3 + 60)) $mode env LD_PRELOAD="$MEMSCOPE_LIB" \
        MEMSCOPE_CHILDREN=all MEMSCOPE_SAMPLE=$sample MEMSCOPE_NAME=fk MEMSCOPE_OUT="$out" \
        MEMSCOPE_FORMATS=json,bin \
        "$PROGS/rel_fork" "$FORKS" $THREADS "$PROGS/rel_exit" work
    ms_status_is $mode 0
    grep -q '^done ok$' "$TMP/$mode.out" || ms_fail "$mode: rel_fork did not finish"
    parent=$(awk '$1 == "parent" {print $2}' "$TMP/$mode.out")
    children=$(awk '$1 == "child" {print $2}' "$TMP/$mode.out")
    execs=$(awk '$1 == "exec" || $1 == "spawn" {print $2}' "$TMP/$mode.out")
    nchild=$(echo "$children" | wc -w)
    nexec=$(echo "$execs" | wc -w)
    [ $((nchild + nexec)) = $((FORKS + 1)) ] ||
        ms_fail "$mode: $nchild children and $nexec exec'd, want $((FORKS + 1)) in all"

    ms_reports_check --pid "$parent" --mode $mode --trigger exit "$out/fk.json"
    want=("$out/fk.json")
    for pid in $children; do
        [ -s "$out/fk-$pid.bin" ] || ms_fail "$mode: child $pid wrote no fk-$pid.bin"
        want+=("$out/fk-$pid.json")
    done
    ms_reports_check --pid name --mode $mode --trigger exit --program rel_fork \
        "${want[@]:1}" >/dev/null
    echo "ok: $mode: $nchild forked children wrote complete reports named with their pids"
    ewant=()
    for pid in $execs; do
        ewant+=("$out/rel_exit-$pid.json")
    done
    ms_reports_check --pid name --mode $mode --trigger exit --program rel_exit \
        "${ewant[@]}" >/dev/null
    want+=("${ewant[@]}")
    echo "ok: $mode: $nexec exec'd or spawned programs wrote their own reports"
    if [ $mode = exact ]; then
        /usr/bin/python3 - $children <<PYEOF || ms_fail "$mode: a child's report does not hold its own leaks"
import json, sys
for pid in sys.argv[1:]:
    d = json.load(open("$out/fk-%s.json" % pid))
    n = sum(l["blocks"] for l in d["leaks"] if l["bytes"] == 3333 * l["blocks"])
    if n != 100:
        sys.exit("fk-%s.json: %d leaked blocks of 3333 bytes, want the child's 100" % (pid, n))
print("ok: exact: each child's report holds the 100 blocks it leaked")
PYEOF
    fi
    # exactly the reports expected, nothing half-written
    ms_no_tmp "$out"
    extra=$(comm -13 <(printf '%s\n' "${want[@]}" | sort) <(ls "$out"/*.json | sort) | head -5)
    [ -z "$extra" ] || ms_fail "$mode: unexpected reports: $extra"
    echo "ok: $mode: $FORKS forks in $((SECONDS - start)) s"
done
