#!/usr/bin/env bash
# rel_exit.sh - the ways a traced process ends (tests/programs/rel_exit.c,
# rel_tls.cc, rel_dlopen.c; tests/data/rel_early.c, rel_dl.c).
#
# - exit() while 8 threads allocate, from main and from a worker thread,
#   REL_EXIT_ROUNDS times each (3; 50 in make stress), exact and sampled:
#   exit status 0, no hang, a complete exit report every time.
# - _exit(7) and abort() while threads allocate: that status (abort: 134),
#   no hang, and no report (nor a half-written one).
# - allocation at thread exit (pthread_key destructors, two rounds, whose
#   blocks main frees later; C++ thread_local destructors in workers and in
#   main) and at process exit (atexit handlers registered after start-up,
#   one registering another; C++ static destructors; an atexit handler
#   registered before start-up by a library of the program, which runs
#   after the exit report started): output and status of a plain run, a
#   complete report with no heap error.
# - dlopen/dlclose of a library (built here) that allocates in its
#   constructor and frees in its destructor, 100 times from 5 threads:
#   output of a plain run, no heap error, and the blocks it leaked (their
#   stacks point into a library gone at exit) are the report's leaks.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3 cc
ms_setup rel_exit
ROUNDS=${REL_EXIT_ROUNDS:-3}
P=$PROGS/rel_exit

# ---- exit() while threads allocate ---------------------------------------
for mode in exact sampled; do
    sample=0
    [ $mode = sampled ] && sample=16k
    for how in exit exit_thread; do
        # (the report is written while 8 threads compete for the CPU: about
        # a second a run on two cores)
        start=$SECONDS
        for i in $(seq "$ROUNDS"); do
            ms_timed 60 $how env LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_SAMPLE=$sample \
                MEMSCOPE_NAME=$how-$mode-$i MEMSCOPE_FORMATS=json,bin "$P" $how
            ms_status_is $how 0
            grep -q '^exit ' "$TMP/$how.out" || ms_fail "$how: the program's output is missing"
        done
        ms_reports_check --mode $mode --trigger exit "$MEMSCOPE_OUT"/$how-$mode-*.json
        n=$(ls "$MEMSCOPE_OUT"/$how-$mode-*.json | wc -l)
        [ "$n" = "$ROUNDS" ] || ms_fail "$how: $n reports for $ROUNDS runs"
        echo "ok: $mode: $how while threads allocate, $ROUNDS times: status 0, complete reports ($((SECONDS - start)) s)"
    done
done
ms_no_tmp "$MEMSCOPE_OUT"

# ---- _exit and abort: no report, no hang ---------------------------------
for how in _exit abort; do
    want=7
    [ $how = abort ] && want=134
    for i in 1 2 3; do
        out=$TMP/$how-$i
        ms_timed 60 $how env LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_OUT="$out" "$P" $how
        ms_status_is $how $want
        left=$(find "$out" -type f 2>/dev/null | head -3 || true)
        [ -z "$left" ] || ms_fail "$how wrote reports (or parts of them): $left"
    done
    echo "ok: $how while threads allocate: status $want, no report, no hang (3 times)"
done

# ---- allocation at thread exit and at process exit -----------------------
check_clean() {     # TAG NAME: output of a plain run, one complete report
    ms_compare "$1"
    ms_reports_check --trigger exit "$MEMSCOPE_OUT/$2.json"
}
MEMSCOPE_NAME=keys ms_both keys "$P" keys
check_clean keys keys
grep -q 'key destructors ran 16 times, left 16 blocks' "$TMP/keys.pre.out" ||
    ms_fail "keys: $(cat "$TMP/keys.pre.out")"

MEMSCOPE_NAME=tls ms_both tls "$PROGS/rel_tls"
check_clean tls tls

cc -shared -fPIC -O1 -g -o "$TMP/librel_early.so" "$REPO/tests/data/rel_early.c" -ldl
cc -std=gnu11 -O1 -g -D_GNU_SOURCE -pthread -o "$TMP/rel_exit_early" \
    "$REPO/tests/programs/rel_exit.c" \
    -Wl,--no-as-needed -L"$TMP" -lrel_early -Wl,--as-needed -Wl,-rpath,"$TMP"
MEMSCOPE_NAME=atexit ms_both atexit "$TMP/rel_exit_early" atexit
check_clean atexit atexit
grep -q "already tracing" "$TMP/atexit.pre.err" &&
    ms_fail "rel_early.so's constructor did not run before memscope started"
for line in "atexit handler registered in main ran" \
            "atexit handler registered during exit ran" \
            "atexit handler registered before start-up ran"; do
    grep -q "^$line" "$TMP/atexit.pre.out" || ms_fail "atexit: '$line' missing"
done
echo "ok: atexit handlers registered before and after start-up allocate and free"

# ---- dlopen / dlclose ------------------------------------------------------
cc -shared -fPIC -O1 -g -o "$TMP/librel_dl.so" "$REPO/tests/data/rel_dl.c"
MEMSCOPE_NAME=dl ms_both dl "$PROGS/rel_dlopen" "$TMP/librel_dl.so" 20
check_clean dl dl
leaked=$(sed -n 's/^leaked \([0-9]*\) blocks.*/\1/p' "$TMP/dl.pre.err")
/usr/bin/python3 - "$MEMSCOPE_OUT/dl.json" "$leaked" <<'PYEOF' || ms_fail "dl: the report's leaks are not the library's"
import json, sys
d = json.load(open(sys.argv[1]))
n = sum(l["blocks"] for l in d["leaks"] if l["bytes"] == 1234 * l["blocks"])
if n != int(sys.argv[2]):
    sys.exit("%d leaked blocks of 1234 bytes in the report, the library leaked %s" % (n, sys.argv[2]))
print("ok: dlopen/dlclose 100 times: the %d blocks the unloaded library leaked are in the report" % n)
PYEOF
ms_no_tmp "$MEMSCOPE_OUT"
