#!/usr/bin/env bash
# run_children.sh - which processes are traced (issue 14, point 1). A
# wrapper script (a shim) runs helpers (ls, cat in a command substitution,
# basename), then execs tests/programs/tracer_fork, which forks a child
# that leaks 123 blocks and exits. Under
#  - `memscope run` (MEMSCOPE_CHILDREN=none): exactly one set of reports,
#    tracer_fork-<pid of the wrapper>.{bin,json}: the exec'd program,
#    named after it, with the pid memscope started; the helpers and the
#    forked child write nothing (and the child still runs: its leaks are
#    in no report, its output is there);
#  - `memscope run --follow-fork`: that set and the forked child's, no
#    helper's;
#  - `memscope run --follow-children`: one set per process: the helpers',
#    the program's and its child's, each complete with its own pid;
#  - plain LD_PRELOAD, default (fork): as --follow-fork; with
#    MEMSCOPE_CHILDREN=none as `memscope run`; =all as --follow-children.
# The program's output and exit status are the same in every case.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need /usr/bin/python3 /bin/sh ls cat basename
[ -x "$MEMSCOPE_TOOL" ] || ms_fail "$MEMSCOPE_TOOL not built (run make)"
ms_setup run_children
export MEMSCOPE_SAMPLE=0 MEMSCOPE_FORMATS=json,bin MEMSCOPE_TEST_MODE=1
unset MEMSCOPE_NAME MEMSCOPE_CHILDREN MEMSCOPE_ROOT_PID

cat >"$TMP/shim" <<EOF
#!/bin/sh
ls / >/dev/null
x=\$(cat /dev/null)
basename /a/b >/dev/null
echo "wrapper \$\$"
exec "$PROGS/tracer_fork"
EOF
chmod +x "$TMP/shim"

# check TAG WANT: the reports in $TMP/TAG are WANT: "prog" (the exec'd
# program's set only), "fork" (and its child's) or "all" (and the helpers')
check() {
    local tag=$1 want=$2
    [ "$(cat "$TMP/$tag.rc")" = 0 ] || ms_fail "$tag: exit status $(cat "$TMP/$tag.rc"): $(head -3 "$TMP/$tag.err")"
    /usr/bin/python3 - "$TMP/$tag" "$TMP/$tag.out" "$want" "$tag" <<'PY'
import json, os, re, sys
out, stdout, want, tag = sys.argv[1:5]
text = open(stdout).read()
m = re.search(r"^wrapper (\d+)$", text, re.M)
p = re.search(r"^parent (\d+) child (\d+) status (\d+)$", text, re.M)
if not m or not p:
    sys.exit(f"{tag}: FAIL: output {text!r} lacks the wrapper's or the program's line")
wrapper, parent, child, status = m.group(1), p.group(1), p.group(2), p.group(3)
if wrapper != parent or status != "0":
    sys.exit(f"{tag}: FAIL: the program ran as pid {parent}, not the wrapper's {wrapper} (exec), or its child exited {status}")
files = sorted(os.listdir(out)) if os.path.isdir(out) else []
sets = {}
for f in files:
    base, ext = f.rsplit(".", 1)
    sets.setdefault(base, set()).add(ext)
expect = {f"tracer_fork-{parent}"}
if want in ("fork", "all"):
    expect.add(f"tracer_fork-{child}")
fails = []
for base, exts in sets.items():
    if exts != {"json", "bin"}:
        fails.append(f"{base}: formats {sorted(exts)}, want bin and json")
names = set(sets)
if want == "all":
    missing = expect - names
    helpers = {b.rsplit("-", 1)[0] for b in names - expect}
    if missing or helpers != {"ls", "cat", "basename"}:
        fails.append(f"reports {sorted(names)}: want the program's, its child's and one each for ls, cat, basename")
    pids = [b.rsplit("-", 1)[1] for b in names]
    if len(pids) != len(set(pids)):
        fails.append(f"two report sets with one pid: {sorted(names)}")
elif names != expect:
    fails.append(f"reports {sorted(names)}, want exactly {sorted(expect)}")
for base in names:
    try:
        r = json.load(open(f"{out}/{base}.json"))
    except Exception as e:
        fails.append(f"{base}.json is not complete JSON: {e}")
        continue
    pid = base.rsplit("-", 1)[1]
    if (str(r["pid"]), r["trigger"]) != (pid, "exit") or not base.startswith(r["program"] + "-"):
        fails.append(f"{base}.json: pid {r['pid']}, program {r['program']}, trigger {r['trigger']}")
if fails:
    sys.exit(f"{tag}: FAIL: " + "; ".join(fails))
print(f"ok: {tag}: {len(names)} report set(s): {' '.join(sorted(names))}")
PY
}

# run TAG CMD...: CMD with its reports in $TMP/TAG
run() {
    local tag=$1 rc=0
    shift
    MEMSCOPE_OUT=$TMP/$tag "$@" >"$TMP/$tag.out" 2>"$TMP/$tag.err" || rc=$?
    echo $rc >"$TMP/$tag.rc"
}

run run_default "$MEMSCOPE_TOOL" run -q -- "$TMP/shim"
check run_default prog
run run_fork "$MEMSCOPE_TOOL" run -q --follow-fork -- "$TMP/shim"
check run_fork fork
run run_all "$MEMSCOPE_TOOL" run -q --follow-children -- "$TMP/shim"
check run_all all
run pre_default env LD_PRELOAD="$MEMSCOPE_LIB" "$TMP/shim"
check pre_default fork
run pre_none env LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_CHILDREN=none "$TMP/shim"
check pre_none prog
run pre_all env LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_CHILDREN=all "$TMP/shim"
check pre_all all

# the choice is refused when not one of the three, with a warning, and
# the default stays
run pre_bad env LD_PRELOAD="$MEMSCOPE_LIB" MEMSCOPE_CHILDREN=some "$TMP/shim"
grep -q "MEMSCOPE_CHILDREN='some' is not valid" "$TMP/pre_bad.err" ||
    ms_fail "MEMSCOPE_CHILDREN=some: no warning: $(head -3 "$TMP/pre_bad.err")"
: >"$TMP/pre_bad.err"
check pre_bad fork
# the two follow options exclude each other
rc=0
"$MEMSCOPE_TOOL" run --follow-fork --follow-children -- true 2>"$TMP/both.err" || rc=$?
[ "$rc" = 2 ] && [ "$(wc -l <"$TMP/both.err")" = 1 ] ||
    ms_fail "--follow-fork --follow-children: exit $rc, $(cat "$TMP/both.err")"
echo "ok: --follow-fork with --follow-children is a usage error"
