#!/usr/bin/env bash
# abi_jemalloc.sh - a program linked with -ljemalloc that calls each entry
# point of jemalloc's extended API and each of glibc's malloc extras
# (tests/programs/abi_jemalloc.c) gets them from the library, not from its
# own libjemalloc or from glibc: one heap.
#  - the same stdout (and exit 0) alone, under the library with
#    MEMSCOPE_ENABLE=0, in exact mode and in sampled mode (every 1 and
#    every 4096 bytes: blocks moved by the sampler keep their flags);
#  - with the library preloaded, its mallocx & co bind to the library;
#  - exact and sampled reports count each of its calls by kind: mallocx 15,
#    rallocx 2, xallocx 1, dallocx 11, sdallocx 2 (and its 2 frees of
#    mallocx memory among the frees), aligned 4 (glibc's __libc_memalign,
#    __libc_valloc, __libc_pvalloc, __posix_memalign), in JSON and in the
#    .bin read back;
#  - a write of arena.0.extent_hooks is refused (EPERM) under the library;
#  - mallinfo2().uordblks, taken with 2000 blocks live just before exit,
#    is the exit report's live bytes within the size-class rounding: at
#    least the requested bytes, at most the usable bytes plus what the
#    engine holds that the tracer never saw (blocks from before it
#    started: under 256 KiB).
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup abi_jemalloc
PROG=$PROGS/abi_jemalloc
[ -x "$PROG" ] || ms_fail "$PROG not built (make check-build)"

MS_BIND_SYMS="mallocx rallocx xallocx sallocx nallocx dallocx sdallocx mallctl mallctlnametomib mallctlbymib malloc_stats_print __libc_malloc __libc_free __libc_calloc __libc_realloc __libc_memalign __libc_valloc __libc_pvalloc mallinfo mallinfo2 malloc_trim malloc_stats malloc_info mallopt" \
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

for mode in 0 4096; do
    grep -qx "extent_hooks write: Operation not permitted" "$TMP/s$mode.pre.err" ||
        ms_fail "s$mode: a write of arena.0.extent_hooks was not refused with EPERM"
done
grep -qx "extent_hooks write: Success" "$TMP/s0.plain.err" ||
    ms_fail "alone, jemalloc did not take the extent_hooks write (test is broken?)"
echo "ok: arena.0.extent_hooks writes refused with EPERM"

/usr/bin/python3 - "$TMP" <<'PY'
import json, sys
tmp = sys.argv[1]
want_a = {"mallocx": 15, "rallocx": 2, "xallocx": 1, "aligned": 4}
want_f = {"dallocx": 11, "sdallocx": 2, "rallocx": 2, "xallocx": 1}
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
        # realloc(NULL, n) 1000 times, reallocarray(NULL, ..) once,
        # __libc_realloc once, realloc of a live block 1000 times:
        # realloc's kind, not malloc's
        if not 2002 <= ak["realloc"] <= 2002 + 16:
            fails.append(f"{path}: alloc_kinds.realloc = {ak['realloc']}, expected 2002 (+ libc's own)")
        # the free side of a realloc: __libc_realloc and the 1000, counted
        # once each (sampled mode's inlined path as its hooks)
        if not 1001 <= fk["realloc"] <= 1001 + 16:
            fails.append(f"{path}: free_kinds.realloc = {fk['realloc']}, expected 1001 (+ libc's own)")
        if not 1001 <= s["reallocs"] <= 1001 + 2 + 16:
            fails.append(f"{path}: reallocs = {s['reallocs']}, expected 1001 (+ rallocx, libc's own)")
        if fk["free"] < 2 + 6:
            fails.append(f"{path}: free_kinds.free = {fk['free']}, expected >= 8")
        if ak["calloc"] < 1 or ak["realloc"] < 1 or ak["malloc"] < 2000:
            fails.append(f"{path}: calloc, realloc or malloc kinds too few: {ak}")
        if sum(ak.values()) != s["allocs"] or sum(fk.values()) != s["frees"]:
            fails.append(f"{path}: kinds do not sum to allocs/frees")
r = json.load(open(f"{tmp}/reports/s0.json"))
live = r["summary"]["live_bytes"]
usable = sum(s["live_usable_bytes"] for s in r["sites"])
err = open(f"{tmp}/s0.pre.err").read()
uord = int(err.split("uordblks=")[-1].split()[0])
if not live <= uord <= usable + 256 * 1024:
    fails.append(f"mallinfo2().uordblks {uord} is not within [{live}, {usable} + 256 KiB]: "
                 f"the exact report's live bytes (requested, usable)")
if fails:
    sys.exit("FAIL:\n  " + "\n  ".join(fails))
print("ok: exact and sampled reports count mallocx 15, rallocx 2, xallocx 1, "
      "dallocx 11, sdallocx 2, aligned 4")
print(f"ok: mallinfo2().uordblks {uord}: exit report live {live} B requested, "
      f"{usable} B usable (+{uord - usable} B the tracer never saw)")
PY
