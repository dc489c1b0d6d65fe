#!/usr/bin/env bash
# rel_inbox_exit.sh - blocks freed by another thread than their owner,
# and no hook call of the owner after (tests/programs/rel_inbox_exit.c):
# the frees wait in the owner's inbox when the report is made. Exact
# mode; the main thread as the owner (the exit report), and a thread
# that waits on a pipe as the owner (an API export, one with the leak
# classes made in a copy of the process, and the exit report with its
# scan in place). In every report no block of make_blocks is live,
# tracked or leaked, the tracked blocks are the live ones and so are the
# blocks the leak scan classes (before: 303 tracked and 303 classed as
# still reachable, for 3 or 4 live).
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup rel_inbox_exit
P=$(ms_prog rel_inbox_exit)
N=300

for owner in main other; do
    d=$TMP/$owner
    mkdir -p "$d"
    ms_timed 60 $owner env LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_SAMPLE=0 \
        MEMSCOPE_NAME=exit MEMSCOPE_OUT="$d" MEMSCOPE_FORMATS=json \
        "$P" $owner $N "$d"
    ms_status_is $owner 0
    /usr/bin/python3 - "$d" $owner <<'PYEOF' || ms_fail "$owner: freed blocks reported live"
import glob, json, os, sys
d, owner = sys.argv[1], sys.argv[2]
files = sorted(glob.glob(d + "/*.json"))
want = 3 if owner == "other" else 1
bad = []
if len(files) != want:
    bad.append("%d reports, want %d: %s" % (len(files), want, files))
for f in files:
    r = json.load(open(f))
    s, name = r["summary"], os.path.basename(f)
    if s["tracked_blocks"] != s["live_blocks"]:
        bad.append("%s: %d blocks tracked, %d live" % (name, s["tracked_blocks"], s["live_blocks"]))
    mine = {i for i, fr in enumerate(r["frames"]) if fr.get("function") == "make_blocks"}
    sites = {x["id"]: x for x in r["sites"] if mine & set(x["frames"])}
    if not sites:
        bad.append("%s: no site of make_blocks" % name)
    for x in sites.values():
        if x["live_blocks"] != 0:
            bad.append("%s: make_blocks: %d live blocks" % (name, x["live_blocks"]))
    for l in r["leaks"]:
        if l["site"] in sites:
            bad.append("%s: make_blocks: %d blocks reported as leaks (%s)" % (name, l["blocks"], l["class"]))
    if name != "mid.json":
        classed = sum(c["blocks"] for c in s["leak_classes"].values())
        if classed != s["live_blocks"]:
            bad.append("%s: %d blocks classed as leaks, %d live" % (name, classed, s["live_blocks"]))
for b in bad:
    print("%s: %s" % (owner, b))
if not bad:
    print("ok: %s owns: %d reports, none counts a freed block live or leaked" % (owner, len(files)))
sys.exit(1 if bad else 0)
PYEOF
done
