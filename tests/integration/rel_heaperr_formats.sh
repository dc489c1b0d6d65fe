#!/usr/bin/env bash
# rel_heaperr_formats.sh - heap errors in every format written: the
# 8 errors of tests/programs/rel_heaperr.cc (rel_heaperr.sh checks the
# JSON report and the abort) must also be in
# - NAME.bin: `memscope report NAME.bin --format json` gives the same
#   heap_errors as NAME.json;
# - NAME.md and NAME.html: each error's kind (double_free or "double
#   free"...) and address.
# (NAME.folded holds stacks and weights only: no place for them.)
# Each format that lacks them is named, and the test fails.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
[ -x "$MEMSCOPE_TOOL" ] || ms_fail "$MEMSCOPE_TOOL not built (run make)"
ms_setup rel_heaperr_formats

ms_timed 60 all env LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_NAME=he MEMSCOPE_FORMATS=all \
    "$PROGS/rel_heaperr" all
ms_status_is all 0
R=$MEMSCOPE_OUT/he
ms_reports_check --errors 8 "$R.json"
for ext in bin md html; do
    [ -s "$R.$ext" ] || ms_fail "no $ext report written (MEMSCOPE_FORMATS=all)"
done
ms_timed 60 tool "$MEMSCOPE_TOOL" report "$R.bin" --format json -o "$TMP/from-bin.json"
ms_status_is tool 0

/usr/bin/python3 - "$TMP/all.out" "$R" "$TMP/from-bin.json" <<'PYEOF' || ms_fail "heap errors are missing from a format (see above)"
import json, re, sys
out, base, from_bin = sys.argv[1:]
want = [l.split()[1:3] for l in open(out) if l.startswith("expect ")]
lacking = []
j = json.load(open(base + ".json"))
b = json.load(open(from_bin))
if b.get("heap_errors") != j["heap_errors"] or \
        b["summary"].get("heap_errors") != j["summary"]["heap_errors"]:
    print("bin: `memscope report he.bin --format json` has %s heap errors, he.json %d"
          % (len(b.get("heap_errors") or []), len(j["heap_errors"])))
    lacking.append("bin")
else:
    print("ok: bin: the %d heap errors, as in the JSON report" % len(j["heap_errors"]))
for ext in ("md", "html"):
    text = open(base + "." + ext, encoding="utf-8", errors="replace").read().lower()
    missing = []
    for kind, addr in want:
        words = [kind, kind.replace("_", " "), kind.replace("_", "-")]
        a = "%x" % int(addr, 16)
        if not any(w in text for w in words) or a not in text:
            missing.append("%s %s" % (kind, addr))
    if missing:
        print("%s: %d of %d heap errors not mentioned (kind and address), e.g. %s"
              % (ext, len(missing), len(want), ", ".join(missing[:3])))
        lacking.append(ext)
    else:
        print("ok: %s: all %d heap errors, kind and address" % (ext, len(want)))
if lacking:
    sys.exit("formats without the heap errors: " + ", ".join(lacking))
PYEOF
