#!/usr/bin/env bash
# tracer_sampling.sh - sampled mode (tests/programs/tracer_sampling.c):
# 10^6 allocations from three sites (32 B, 1 KiB, 16 KiB).
#  - summary allocs and frees (after.json - before.json) are exact, live
#    blocks and bytes back to 0;
#  - each site's estimated bytes (sites[].bytes, estimated: true) is within
#    10% of the truth, and its estimated allocs too.
# The interval is 8 KiB, not the 512 KiB of a production run: the 32-byte
# site has 25.6 MB, so about 3100 samples at 8 KiB (standard error 1.8%,
# 10% is more than 5 of them) but 50 at 512 KiB (14%), too few for a 10%
# bound that must hold on every run.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup tracer_sampling

export MEMSCOPE_SAMPLE=8k MEMSCOPE_NAME=sampled MEMSCOPE_FORMATS=json
ms_both sampled "$PROGS/tracer_sampling" "$TMP"
ms_compare sampled stderr

PYTHONPATH=$REPO/tests/data /usr/bin/python3 - "$TMP" <<'EOF'
import msjson, sys
tmp = sys.argv[1]
SITES = {"sampled_site_small": (800000, 32), "sampled_site_medium": (150000, 1024),
         "sampled_site_large": (50000, 16384)}
N = sum(n for n, _ in SITES.values())
fails = []
def check(what, got, want):
    if got != want:
        fails.append(f"{what}: got {got}, expected {want}")

def load(path):
    try:
        return msjson.load(path)
    except Exception as e:
        sys.exit(f"FAIL: {path}: {e}")

before = load(f"{tmp}/before.json")
after = load(f"{tmp}/after.json")
final = load(f"{tmp}/reports/sampled.json")
for label, rep in (("after.json", after), ("exit report", final)):
    check(f"{label}: mode", rep["mode"], "sampled")
    check(f"{label}: sample_interval", rep["sample_interval"], 8192)
for k, v in (("allocs", N), ("frees", N), ("live_blocks", 0), ("live_bytes", 0)):
    check(f"summary.{k} (after - before)", after["summary"][k] - before["summary"][k], v)

for fn, (n, size) in SITES.items():
    ss = [s for s in after["sites"] if s["frames"] and s["frames"][0]
          and s["frames"][0]["function"] == fn]
    if not ss:
        fails.append(f"no site whose innermost frame is {fn}")
        continue
    for s in ss:
        check(f"{fn}: estimated", s["estimated"], True)
    est_bytes = sum(s["bytes"] for s in ss)
    est_allocs = sum(s["allocs"] for s in ss)
    sampled = sum(s["sampled_allocs"] for s in ss)
    for what, est, truth in (("bytes", est_bytes, n * size), ("allocs", est_allocs, n)):
        err = est / truth - 1
        print(f"{fn}: estimated {what} {est:.0f}, true {truth} ({err:+.2%}, {sampled} samples)")
        if abs(err) > 0.10:
            fails.append(f"{fn}: estimated {what} {est:.0f} is {err:+.1%} off the true {truth}")

if fails:
    print("FAIL:\n  " + "\n  ".join(fails), file=sys.stderr)
    sys.exit(1)
print(f"ok: sampled mode: {N} allocs and frees exact, each site's bytes within 10%")
EOF
