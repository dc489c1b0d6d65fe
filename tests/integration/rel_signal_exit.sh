#!/usr/bin/env bash
# rel_signal_exit.sh - exit() while snapshots are still pending: a program
# raises 200 snapshot signals and returns from main at once; one of its
# exit handlers (registered before start-up, so it runs after the exit
# report: tests/data/rel_early.c) takes 300 ms, while the background
# thread goes on writing snapshots. Eight runs: the end falls in the
# middle of a snapshot about half the time on two cores. Each run must
# exit 0 with its output, write a complete exit report, leave every
# snapshot it wrote complete, and leave no temporary file
# (NAME.*.tmp.<pid>): reports are complete or absent, even when the
# process ends while a snapshot is being written.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3 cc
ms_setup rel_signal_exit
cc -shared -fPIC -O1 -g -o "$TMP/librel_early.so" "$REPO/tests/data/rel_early.c" -ldl
cc -std=gnu11 -O1 -g -D_GNU_SOURCE -pthread -o "$TMP/rel_signal_early" \
    "$REPO/tests/programs/rel_signal.c" \
    -Wl,--no-as-needed -L"$TMP" -lrel_early -Wl,--as-needed -Wl,-rpath,"$TMP" -ldl
export REL_EARLY_SIGUSR1=1 REL_EARLY_EXIT_SLEEP_MS=300
leftovers=()
for i in 1 2 3 4 5 6 7 8; do
    out=$TMP/run$i
    ms_timed 60 run$i env LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_OUT="$out" MEMSCOPE_NAME=s \
        "$TMP/rel_signal_early" early 200
    ms_status_is run$i 0
    grep -q "counted 200 signals" "$TMP/run$i.out" || ms_fail "run$i: $(cat "$TMP/run$i.out")"
    ms_reports_check --trigger exit "$out/s.json" >/dev/null
    snaps=("$out"/s.snapshot-*.json)
    [ -e "${snaps[0]}" ] && ms_reports_check --trigger signal "${snaps[@]}" >/dev/null
    while read -r f; do
        leftovers+=("$f")
    done < <(find "$out" -name '*.tmp.*')
    echo "run$i: ${#snaps[@]} snapshots written, $(find "$out" -name '*.tmp.*' | wc -l) temporary files left"
done
[ ${#leftovers[@]} = 0 ] ||
    ms_fail "temporary files left by snapshots cut short at exit: ${leftovers[*]##*/}"
echo "ok: exit with snapshots pending: complete reports, no temporary file left"
