#!/usr/bin/env bash
# real_dig.sh - Debian's dig (BIND 9: libisc allocates through jemalloc's
# mallocx and sdallocx) on memscope's malloc. Offline and deterministic:
# one query over UDP to a closed port on 127.0.0.1, one try, one second.
#  - its mallocx, sdallocx and free bind to the library;
#  - stdout, stderr and exit status are those of a run without it, with
#    MEMSCOPE_ENABLE=0, in exact and in sampled mode;
#  - the exact report counts libisc's heap: mallocx and sdallocx kinds
#    above zero, no heap error; the sampled report counts mallocx too.
set -euo pipefail
. "$(dirname "$0")/common.bash"

DIG=/usr/bin/dig
ms_need "$DIG" /usr/bin/python3
ms_setup real_dig
# every process it starts traced too, as a program under test (the
# default, MEMSCOPE_CHILDREN=fork, leaves exec'd ones untraced)
export MEMSCOPE_CHILDREN=all
ldd "$DIG" >"$TMP/ldd" || ms_fail "ldd $DIG failed"
grep -q libjemalloc "$TMP/ldd" || ms_skip "$DIG does not link libjemalloc"

LIBISC=$(awk '$1 ~ /^libisc-/ { print $3 }' "$TMP/ldd")
[ -n "$LIBISC" ] || ms_skip "$DIG does not link libisc"
ms_assert_binds "$DIG" "$DIG" -v
MS_BIND_SYMS="mallocx sdallocx" ms_assert_binds "$LIBISC" "$DIG" -v
rm -rf "$TMP/reports"

# a UDP port nothing listens on: taken from the kernel, then released
PORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
Q=("$DIG" @127.0.0.1 -p "$PORT" +tries=1 +time=1 example.)

export MEMSCOPE_FORMATS=json
MEMSCOPE_ENABLE=0 ms_both off "${Q[@]}"
for m in 0 65536; do
    MEMSCOPE_SAMPLE=$m MEMSCOPE_NAME=dig$m ms_run pre s$m "${Q[@]}"
done
for tag in off s0 s65536; do
    # dig's status for "no servers could be reached" is 9: the same status
    # alone and under the library is what counts
    prc=$(cat "$TMP/off.plain.rc") rc=$(cat "$TMP/$tag.pre.rc")
    [ "$prc" = 9 ] || ms_fail "dig alone exited $prc, not 9 (no server reached): test is broken?"
    [ "$rc" = "$prc" ] || ms_fail "$tag: dig exited $rc under the library, $prc alone"
    cmp -s "$TMP/off.plain.out" "$TMP/$tag.pre.out" && cmp -s "$TMP/off.plain.err" "$TMP/$tag.pre.err" ||
        ms_fail "$tag: dig's output differs under the library: $(diff "$TMP/off.plain.out" "$TMP/$tag.pre.out" | head -5)"
    echo "ok: $tag: exit $rc, identical stdout ($(wc -l <"$TMP/$tag.pre.out") lines) and stderr"
done

/usr/bin/python3 - "$TMP" <<'PY'
import json, sys
s = json.load(open(f"{sys.argv[1]}/reports/dig0.json"))["summary"]
ak, fk = s["alloc_kinds"], s["free_kinds"]
fails = []
if ak["mallocx"] <= 0:
    fails.append(f"no mallocx allocation counted: {ak}")
if fk["sdallocx"] <= 0:
    fails.append(f"no sdallocx release counted: {fk}")
if s["heap_errors"] != 0:
    fails.append(f"{s['heap_errors']} heap errors")
if fails:
    sys.exit("FAIL: dig0.json: " + "; ".join(fails))
print(f"ok: the exact report counts libisc's heap: mallocx {ak['mallocx']}, "
      f"sdallocx {fk['sdallocx']}, of {s['allocs']} allocations")
s = json.load(open(f"{sys.argv[1]}/reports/dig65536.json"))["summary"]
if s["alloc_kinds"]["mallocx"] <= 0:
    sys.exit(f"FAIL: dig65536.json: no mallocx counted in sampled mode")
print(f"ok: the sampled report counts mallocx {s['alloc_kinds']['mallocx']}")
PY
