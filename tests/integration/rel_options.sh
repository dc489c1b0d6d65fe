#!/usr/bin/env bash
# rel_options.sh - hostile values of every MEMSCOPE_* option: garbage,
# negative, huge, empty and out-of-range values (and, per option, the
# values its type refuses: a name with '/', a path too long, a refused
# signal, a mode that is not octal...). For each, with the library
# preloaded into `rel_exit work 3`:
# - stderr is exactly one line, a warning naming the option;
# - stdout and the exit status (3) are those of a plain run;
# - the default is used instead (where a report shows it: tracing on, the
#   default name, directory, formats, mode, stack depth and file mode).
# (A value with a newline in it: rel_options_newline.sh.)
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3
ms_setup rel_options
P=$PROGS/rel_exit
HUGE=123456789012345678901234567890
LONG=$(printf 'x%.0s' $(seq 5000))

ms_run plain work "$P" work 3
[ "$(cat "$TMP/work.plain.rc")" = 3 ] || ms_fail "the plain run exited $(cat "$TMP/work.plain.rc"), want 3"

# OPTION VALUE... (each value alone is refused)
cases=(
    "MEMSCOPE_ENABLE|garbage|-1|$HUGE||2"
    "MEMSCOPE_SAMPLE|garbage|-1|$HUGE||16kk|2000g|0x10"
    "MEMSCOPE_STACK_DEPTH|garbage|-1|$HUGE||0|65"
    "MEMSCOPE_INTERVAL_MS|garbage|-1|$HUGE||3600001"
    "MEMSCOPE_AUTO_EXPORT|garbage|-1|$HUGE|"
    "MEMSCOPE_SIGNAL|garbage|-1|$HUGE||65|9|SIGSEGV|ABRT"
    "MEMSCOPE_OUT||$LONG"
    "MEMSCOPE_NAME||a/b|$LONG"
    "MEMSCOPE_FORMATS|garbage|-1||,,,|json,pdf"
    "MEMSCOPE_VERBOSE|garbage|-1|$HUGE|"
    "MEMSCOPE_TEST_MODE|garbage|-1|$HUGE|"
    "MEMSCOPE_FILE_MODE|garbage|-1|$HUGE||0999|1777"
    "MEMSCOPE_ABORT_ON_ERROR|garbage|-1|$HUGE|"
)

i=0
: >"$TMP/manifest"
for c in "${cases[@]}"; do
    IFS='|' read -r -a parts <<<"$c"
    opt=${parts[0]}
    for value in "${parts[@]:1}"; do
        i=$((i + 1))
        d=$TMP/run$i
        mkdir -p "$d"
        env=(LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_OUT="$d/out")
        [ "$opt" = MEMSCOPE_OUT ] && env=(LD_PRELOAD="$MEMSCOPE_LIB")
        (cd "$d" && timeout -k 5 60 env "${env[@]}" "$opt=$value" "$P" work 3 >"$d/stdout" 2>"$d/stderr") &&
            rc=0 || rc=$?
        shown=${value:0:40}
        [ ${#value} -gt 40 ] && shown="$shown... (${#value} bytes)"
        [ "$rc" != 124 ] || ms_fail "$opt='$shown': the program hung (killed after 60 s)"
        [ "$rc" = 3 ] || ms_fail "$opt='$shown': exit status $(_ms_status $rc), want 3: $(head -3 "$d/stderr")"
        cmp -s "$d/stdout" "$TMP/work.plain.out" || ms_fail "$opt='$shown': stdout differs from a plain run"
        lines=$(wc -l <"$d/stderr")
        if [ "$lines" != 1 ] || ! grep -q "$opt" "$d/stderr"; then
            echo "$opt='$shown': want one warning line naming $opt, got $lines lines:" >&2
            head -5 "$d/stderr" >&2
            ms_fail "$opt='$shown'"
        fi
        printf '%s\t%s\n' "$opt" "$d" >>"$TMP/manifest"
    done
done
echo "ok: $i hostile values: each one warning line naming the option; output and status unchanged"
echo "    e.g. $(cat "$TMP/run2/stderr")"

# the defaults were used
/usr/bin/python3 - "$TMP/manifest" <<'PYEOF' || ms_fail "a refused value did not leave the default in force"
import glob, json, os, stat, sys
bad = 0
for line in open(sys.argv[1]):
    opt, d = line.rstrip("\n").split("\t")
    out = d + "/MemoryAnalysis" if opt == "MEMSCOPE_OUT" else d + "/out"
    files = sorted(os.listdir(out)) if os.path.isdir(out) else []
    jsons = [f for f in files if f.endswith(".json")]
    problems = []
    if len(jsons) != 1:
        problems.append("reports %s in %s" % (files, out))
    else:
        base = jsons[0][:-5]
        if not base.startswith("rel_exit-"):
            problems.append("name %s, not the default rel_exit-<pid>" % base)
        exts = sorted(f[len(base) + 1:] for f in files if f.startswith(base + "."))
        if exts != ["bin", "html", "json", "md"]:
            problems.append("formats %s, want the default bin html json md" % exts)
        r = json.load(open(os.path.join(out, jsons[0])))
        if r["mode"] != "exact" or r["stack_depth"] != 64:
            problems.append("mode %s depth %s" % (r["mode"], r["stack_depth"]))
        for f in files:
            m = stat.S_IMODE(os.stat(os.path.join(out, f)).st_mode)
            if m != 0o600:
                problems.append("%s has mode %o, not 0600" % (f, m))
    if problems:
        print("%s (%s): %s" % (opt, d, "; ".join(problems)))
        bad = 1
if not bad:
    print("ok: the defaults stayed in force (tracing, name, directory, formats, mode, depth, file mode)")
sys.exit(bad)
PYEOF
