#!/usr/bin/env bash
# abi_jemalloc.sh - a program linked with -ljemalloc that calls each entry
# point of jemalloc's extended API (tests/programs/abi_jemalloc.c) gets
# them from the library, not from its own libjemalloc: one heap.
#  - the same stdout (and exit 0) alone, under the library with
#    MEMSCOPE_ENABLE=0, in exact mode and in sampled mode (every 1 and
#    every 4096 bytes: blocks moved by the sampler keep their flags);
#  - with the library preloaded, its mallocx & co bind to the library;
#  - exact and sampled reports count each of its calls by kind: mallocx 7,
#    rallocx 2, xallocx 1, dallocx 3, sdallocx 2 (and its 2 frees of
#    mallocx memory among the frees), in JSON and in the .bin read back.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup abi_jemalloc
PROG=$PROGS/abi_jemalloc
[ -x "$PROG" ] || ms_fail "$PROG not built (make check-build)"

MS_BIND_SYMS="mallocx rallocx xallocx sallocx nallocx dallocx sdallocx mallctl mallctlnametomib mallctlbymib malloc_stats_print" \
    ms_assert_binds "$PROG" "$PROG"
rm -rf "$TMP/reports"    # from that run

export MEMSCOPE_FORMATS=json,bin
MEMSCOPE_ENABLE=0 ms_both off "$PROG"
ms_compare off
[ -z "$(ls -A "$TMP/reports" 2>/dev/null)" ] || ms_fail "MEMSCOPE_ENABLE=0 wrote a report"
for mode in 0 1 4096; do
    MEMSCOPE_SAMPLE=$mode MEMSCOPE_NAME=s$mode ms_both s$mode "$PROG"
    ms_compare s$mode
    "$MEMSCOPE_TOOL" report "$TMP/reports/s$mode.bin" --format json -o "$TMP/s$mode.rt.json" ||
        ms_fail "memscope report could not read s$mode.bin"
done

/usr/bin/python3 - "$TMP" <<'PY'
import json, sys
tmp = sys.argv[1]
want_a = {"mallocx": 7, "rallocx": 2, "xallocx": 1}
want_f = {"dallocx": 3, "sdallocx": 2, "rallocx": 2, "xallocx": 1}
fails = []
for mode in ("0", "1", "4096"):
    for path in (f"{tmp}/reports/s{mode}.json", f"{tmp}/s{mode}.rt.json"):
        s = json.load(open(path))["summary"]
        ak, fk = s["alloc_kinds"], s["free_kinds"]
        for k, v in want_a.items():
            if ak[k] != v:
                fails.append(f"{path}: alloc_kinds.{k} = {ak[k]}, expected {v}")
        for k, v in want_f.items():
            if fk[k] != v:
                fails.append(f"{path}: free_kinds.{k} = {fk[k]}, expected {v}")
        if fk["free"] < 2:
            fails.append(f"{path}: free_kinds.free = {fk['free']}, expected >= 2")
        if sum(ak.values()) != s["allocs"] or sum(fk.values()) != s["frees"]:
            fails.append(f"{path}: kinds do not sum to allocs/frees")
if fails:
    sys.exit("FAIL:\n  " + "\n  ".join(fails))
print("ok: exact and sampled reports count mallocx 7, rallocx 2, xallocx 1, "
      "dallocx 3, sdallocx 2")
PY
