#!/usr/bin/env bash
# tracer_options.sh - MEMSCOPE_* options given garbage
# (tests/programs/tracer_simple.c): each bad value gets exactly one
# warning on stderr, "memscope: ..." naming the option; the program runs
# as without the library (stdout, exit status 0); the default is used, as
# the JSON report shows (mode, sample_interval, stack_depth,
# timeline.interval_ns, the formats written). A bad MEMSCOPE_SIGNAL keeps
# SIGUSR1: the program raises it and must survive. Good values, for
# contrast, are taken silently and show in the report.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup tracer_options
unset MEMSCOPE_VERBOSE MEMSCOPE_TEST_MODE MEMSCOPE_FORMATS MEMSCOPE_NAME MEMSCOPE_SAMPLE \
    MEMSCOPE_STACK_DEPTH MEMSCOPE_SIGNAL MEMSCOPE_INTERVAL_MS

ms_run plain ref "$PROGS/tracer_simple"
[ -s "$TMP/ref.plain.out" ] || ms_fail "the program printed nothing (test is broken?)"

n=0
: >"$TMP/cases"
# run_case OPTION VALUE WARN(1/0) MODE SAMPLE_INTERVAL DEPTH INTERVAL_NS FORMATS [ARG...]
run_case() {
    local opt=$1 val=$2 warn=$3 mode=$4 si=$5 depth=$6 tl=$7 fmts=$8 tag lines
    shift 8
    n=$((n + 1))
    tag=opt$n
    (
        export "$opt=$val" MEMSCOPE_NAME=$tag
        ms_run pre "$tag" "$PROGS/tracer_simple" "$@"
    )
    local what="$opt='$val'"
    [ "$(cat "$TMP/$tag.pre.rc")" = 0 ] ||
        ms_fail "$what: the program exited with $(cat "$TMP/$tag.pre.rc"): $(head -3 "$TMP/$tag.pre.err")"
    cmp -s "$TMP/ref.plain.out" "$TMP/$tag.pre.out" || ms_fail "$what: stdout changed"
    lines=$(wc -l <"$TMP/$tag.pre.err")
    if [ "$warn" = 1 ]; then
        [ "$lines" -eq 1 ] ||
            ms_fail "$what: $lines lines on stderr, expected one warning: $(head -3 "$TMP/$tag.pre.err")"
        grep -q "^memscope: .*$opt" "$TMP/$tag.pre.err" ||
            ms_fail "$what: the warning does not start with 'memscope:' and name $opt: $(cat "$TMP/$tag.pre.err")"
    else
        [ "$lines" -eq 0 ] || ms_fail "$what: a good value, but stderr says: $(head -3 "$TMP/$tag.pre.err")"
    fi
    echo "$tag|$what|$mode|$si|$depth|$tl|$fmts" >>"$TMP/cases"
}

D="exact 0 64 10000000 bin,json,html,md"     # the defaults
# shellcheck disable=SC2086   # $D is several arguments on purpose
{
run_case MEMSCOPE_SAMPLE abc 1 $D
run_case MEMSCOPE_SAMPLE -5 1 $D
run_case MEMSCOPE_SAMPLE 99999999999999999999 1 $D
run_case MEMSCOPE_SAMPLE "" 1 $D
run_case MEMSCOPE_SAMPLE 64x 1 $D
run_case MEMSCOPE_STACK_DEPTH 0 1 $D
run_case MEMSCOPE_STACK_DEPTH 1000 1 $D
run_case MEMSCOPE_STACK_DEPTH x 1 $D
run_case MEMSCOPE_SIGNAL KILL 1 $D 0 raise
run_case MEMSCOPE_FORMATS pdf 1 $D
run_case MEMSCOPE_FORMATS json,pdf 1 $D
run_case MEMSCOPE_INTERVAL_MS -1 1 $D
# good values, taken silently
run_case MEMSCOPE_SAMPLE 64k 0 sampled 65536 64 10000000 bin,json,html,md
run_case MEMSCOPE_STACK_DEPTH 3 0 exact 0 3 10000000 bin,json,html,md
run_case MEMSCOPE_INTERVAL_MS 20 0 exact 0 64 20000000 bin,json,html,md
run_case MEMSCOPE_FORMATS json,md 0 exact 0 64 10000000 json,md
run_case MEMSCOPE_SIGNAL USR1 0 $D 0 raise
}

/usr/bin/python3 - "$TMP" <<'EOF'
import json, os, sys
tmp = sys.argv[1]
fails = []
for line in open(f"{tmp}/cases"):
    tag, what, mode, si, depth, tl, fmts = line.rstrip("\n").split("|")
    try:
        r = json.load(open(f"{tmp}/reports/{tag}.json"))
    except Exception as e:
        fails.append(f"{what}: no complete JSON report: {e}")
        continue
    got = (r["mode"], r["sample_interval"], r["stack_depth"], r["timeline"]["interval_ns"])
    want = (mode, int(si), int(depth), int(tl))
    if got != want:
        fails.append(f"{what}: (mode, sample_interval, stack_depth, timeline.interval_ns) "
                     f"= {got}, expected {want}")
    written = sorted(e for e in ("bin", "json", "html", "md", "folded")
                     if os.path.exists(f"{tmp}/reports/{tag}.{e}"))
    if written != sorted(fmts.split(",")):
        fails.append(f"{what}: formats written {written}, expected {sorted(fmts.split(','))}")
    print(f"ok: {what}: {got}, {','.join(written)}")
if fails:
    print("FAIL:\n  " + "\n  ".join(fails), file=sys.stderr)
    sys.exit(1)
EOF
