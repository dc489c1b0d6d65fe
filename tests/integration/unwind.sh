#!/usr/bin/env bash
# unwind.sh - whole call stacks through code built the ordinary way, with
# no frame pointers: tests/data/unwind_nest.c and unwind_cxx.cc, built
# here with plain `cc -O2 -g` / `c++ -O2 -g`, at the default stack depth.
#  - main;top;mid;leaf for 100% of leaf's blocks, in exact and in sampled
#    mode, in the JSON, the folded stacks (live and allocated) and the
#    HTML report's flame graph data;
#  - an allocation in a signal handler on a sigaltstack unwinds through
#    the signal frame to main; one on a makecontext stack ends at the
#    coroutine's start, not cut; nothing in any stack is cut or truncated;
#  - C++: operator new under main, a new-handler that throws (the program
#    catches it: same output as without the library), a std::thread's
#    stack whole down to its start;
#  - functions inlined into inl_real: frames of their own, marked inlined
#    (JSON "inlined", " [inlined]" in the folded and HTML names);
#  - a library dlopen'ed, allocating, then dlclose'd, and a second one
#    mapped at the same place: each one's frames are its own, named at
#    exit from its file (lib_first, lib_second), and their stacks differ;
#  - a stripped library's frame reads libhidden.so+0xOFFSET, and
#    `memscope report` names it from debug information found by the
#    build ID the .bin keeps (MEMSCOPE_DEBUG_DIR);
#  - a stripped program's own frames (main, and _start past it) read
#    nest-stripped+0xOFFSET: never unnamed, [unknown] or invented;
#  - no frame in the folded stacks, the markdown or the HTML data is a bare
#    address, and two runs give the same folded stacks.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need cc c++ python3 objcopy strip readelf
ms_setup unwind
[ -x "$MEMSCOPE_TOOL" ] || ms_fail "$MEMSCOPE_TOOL not built (run make)"
cc -O2 -g -o nest "$REPO/tests/data/unwind_nest.c" -ldl || ms_fail "cannot build unwind_nest.c"
c++ -O2 -g -pthread -o cxx "$REPO/tests/data/unwind_cxx.cc" || ms_fail "cannot build unwind_cxx.cc"
cc -O2 -g -shared -fPIC -DLIB_NAME=lib_first -o libfirst.so "$REPO/tests/data/unwind_lib.c" ||
    ms_fail "cannot build unwind_lib.c"
cc -O2 -g -shared -fPIC -DLIB_NAME=lib_second -o libsecond.so "$REPO/tests/data/unwind_lib.c" ||
    ms_fail "cannot build unwind_lib.c"
# the test is about code without frame pointers: make sure it is
if objdump -d nest | awk '/<mid[.>]/,/ret/' | grep -q 'mov  *%rsp,%rbp'; then
    ms_fail "this compiler keeps frame pointers at -O2: the test would prove nothing"
fi

export MEMSCOPE_FORMATS=json,folded,bin,html,md
unset MEMSCOPE_STACK_DEPTH
for run in exact exact2 sampled; do
    sample=0
    # sampled at a mean of 16 bytes: the program's single blocks (333 and
    # 555 bytes) are all but always drawn (at 64, coro_leaf's went
    # unsampled about once in 180 runs: exp(-333/64))
    [ $run = sampled ] && sample=16
    MEMSCOPE_SAMPLE=$sample MEMSCOPE_NAME=nest-$run ms_both nest-$run ./nest ./libfirst.so ./libsecond.so
    ms_compare nest-$run stderr
done
# a stripped library, its debug information apart, found by build ID
cc -O2 -g -shared -fPIC -DLIB_NAME=lib_hidden -o libhidden.so "$REPO/tests/data/unwind_lib.c" ||
    ms_fail "cannot build unwind_lib.c"
bid=$(readelf -n libhidden.so | awk '/Build ID/ {print $3}')
[ -n "$bid" ] || ms_fail "libhidden.so has no build ID"
mkdir -p "dbg/.build-id/${bid:0:2}"
objcopy --only-keep-debug libhidden.so "dbg/.build-id/${bid:0:2}/${bid:2}.debug"
strip --strip-all libhidden.so
MEMSCOPE_NAME=hidden ms_both hidden ./nest ./libhidden.so
ms_compare hidden stderr
grep -q ';lib_alloc;libhidden\.so+0x[0-9a-f]* 444$' "$TMP/reports/hidden.folded" ||
    ms_fail "the stripped library's frame is not named libhidden.so+0xOFFSET: $(grep lib_alloc "$TMP/reports/hidden.folded")"
MEMSCOPE_DEBUG_DIR=$TMP/dbg "$MEMSCOPE_TOOL" report "$TMP/reports/hidden.bin" --format folded \
    >"$TMP/hidden.named.folded" || ms_fail "memscope report hidden.bin failed"
grep -q ';lib_alloc;lib_hidden 444$' "$TMP/hidden.named.folded" ||
    ms_fail "memscope report did not name the frame from its build ID's debug file: $(grep lib_alloc "$TMP/hidden.named.folded")"
echo "ok: a stripped library's frame reads libhidden.so+0x..., and memscope report names it lib_hidden from its build ID"

# a stripped program: its own frames, main and _start (past main) among
# them, have no name to give: each reads nest-stripped+0xOFFSET, never a
# bare address, [unknown] or a name borrowed from a symbol nearby
cp nest nest-stripped
strip --strip-all nest-stripped
MEMSCOPE_NAME=stripped ms_both stripped ./nest-stripped ./libfirst.so ./libsecond.so
ms_compare stripped stderr
PYTHONPATH=$REPO/tests/data python3 - "$TMP/reports" <<'EOF'
import msjson, re, sys
out = sys.argv[1]
r = msjson.load(f"{out}/stripped.json")
fails, past = [], 0
for s in r["sites"]:
    fr = s["frames"]
    names = [(f or {}).get("function") for f in fr]
    for f in fr:
        mod = ((f or {}).get("module") or "").rsplit("/", 1)[-1]
        if mod == "nest-stripped" and f["function"] is not None:
            fails.append(f"a frame of the stripped program is named {f['function']}")
        if f is None or (f["function"] is None and not (mod and f["offset"])):
            fails.append(f"a frame with neither name nor module+offset: {f}")
    if "__libc_start_call_main" in names:
        after = fr[names.index("__libc_start_call_main") + 1:]
        past += 1
        for f in after:
            if f["function"] is None and not f["module"].endswith("/nest-stripped"):
                fails.append(f"past main: an unnamed frame outside the program: {f}")
if past == 0:
    fails.append("no stack of the stripped program reaches __libc_start_call_main")
for line in open(f"{out}/stripped.folded"):
    for label in line.rpartition(" ")[0].split(";"):
        if label == "[unknown]" or re.match(r"0x[0-9a-f]+$", label) or (
                label.startswith("nest-stripped") and not re.match(r"nest-stripped\+0x[0-9a-f]+$", label)):
            fails.append(f"folded frame {label!r}")
if fails:
    print("FAIL:\n  " + "\n  ".join(sorted(set(fails))[:10]), file=sys.stderr)
    sys.exit(1)
print(f"ok: stripped program: {past} stacks past main, every frame named or module+offset, none invented")
EOF

MEMSCOPE_NAME=cxx ms_both cxx ./cxx
ms_compare cxx stderr
for t in nest-exact nest-sampled cxx; do
    "$MEMSCOPE_TOOL" report "$TMP/reports/$t.bin" --format folded --metric allocated \
        >"$TMP/reports/$t.alloc.folded" || ms_fail "memscope report $t.bin --format folded failed"
done

PYTHONPATH=$REPO/tests/data python3 - "$TMP/reports" <<'EOF'
import json, msjson, re, sys
out = sys.argv[1]
fails = []

def frames_of(r, s):
    return [(f or {}).get("function") for f in s["frames"]]

def base(name):      # leaf.constprop.0 -> leaf
    return None if name is None else re.sub(r"\.(constprop|isra|part|cold)\.\d+$", "", name)

def check_json(tag, want_chain, first, weigh):
    r = msjson.load(f"{out}/{tag}.json")
    ok = total = 0
    for s in r["sites"]:
        names = [base(n) for n in frames_of(r, s)]
        if "[cut]" in names or "[truncated]" in names:
            fails.append(f"{tag}: a stack is cut or truncated: {names}")
        if not names or names[0] != first:
            continue
        total += s[weigh]
        if names[:len(want_chain)] == want_chain:
            ok += s[weigh]
        else:
            fails.append(f"{tag}: a {first} stack reads {names}")
    if total == 0:
        fails.append(f"{tag}: no site starts in {first}")
    else:
        print(f"ok: {tag}: {ok}/{total} {weigh} of {first} under {';'.join(reversed(want_chain))}")
    return r

bare = re.compile(r"(^|[;\s`(])0x[0-9a-f]{6,}")

def no_bare(tag, path):
    text = open(path).read()
    m = bare.search(text)
    if m:
        fails.append(f"{tag}: a bare address in {path}: {m.group(0)}")

def folded_lines(path):
    lines = {}
    for line in open(path):
        stack, _, v = line.rstrip("\n").rpartition(" ")
        lines[stack] = lines.get(stack, 0) + int(v)
    return lines

def check_folded(tag, path, chain, want):
    got = sum(v for k, v in folded_lines(path).items()
              if [base(x) for x in k.split(";")][-len(chain):] == chain)
    if got < want:
        fails.append(f"{tag}: {path}: {got} bytes under {';'.join(chain)}, expected {want}")
    else:
        print(f"ok: {tag}: {path.rsplit('/', 1)[-1]}: {got} bytes end in {';'.join(chain)}")

for tag, weigh in (("nest-exact", "allocs"), ("nest-sampled", "allocs")):
    r = check_json(tag, ["leaf", "mid", "top", "main"], "leaf", weigh)
    est = tag.endswith("sampled")
    # every one of the 1000 blocks of 777 bytes, in exact mode
    if not est:
        n = sum(s["allocs"] for s in r["sites"] if base(frames_of(r, s)[0]) == "leaf")
        if n != 1000:
            fails.append(f"{tag}: {n} blocks from leaf, expected 1000")
    check_json(tag, ["sig_leaf", "handler"], "sig_leaf", "allocs")
    check_json(tag, ["inl_inner", "inl_outer", "inl_real", "main"], "inl_inner", "allocs")
    for s in r["sites"]:
        if frames_of(r, s)[:1] == ["inl_inner"]:
            marks = [bool(f.get("inlined")) for f in s["frames"][:3]]
            if marks != [True, True, False]:
                fails.append(f"{tag}: inlined marks of inl_inner;inl_outer;inl_real: {marks}")
    if not est:
        check_folded(tag, f"{out}/{tag}.alloc.folded",
                     ["main", "inl_real", "inl_outer [inlined]", "inl_inner [inlined]"], 9990)
    check_json(tag, ["coro_leaf", "coro_main"], "coro_leaf", "allocs")
    for s in r["sites"]:
        names = [base(n) for n in frames_of(r, s)]
        if names[0] == "sig_leaf" and "main" not in names:
            fails.append(f"{tag}: the signal handler's stack stops before main: {names}")
    for path in (f"{out}/{tag}.folded", f"{out}/{tag}.alloc.folded", f"{out}/{tag}.md"):
        no_bare(tag, path)
    if not est:
        check_folded(tag, f"{out}/{tag}.folded", ["main", "top", "mid", "leaf"], 777000)
        check_folded(tag, f"{out}/{tag}.alloc.folded", ["main", "top", "mid", "leaf"], 777000)
    # the HTML report's data: sites' frame lists, innermost first
    html = open(f"{out}/{tag}.html").read()
    m = re.search(r'<script type="application/json"[^>]*>(.*?)</script>', html, re.S)
    if not m:
        fails.append(f"{tag}: no data in the HTML report")
        continue
    d = json.loads(m.group(1))
    fr = d["frames"]
    good = bad = 0
    for s in d["sites"]:
        names = [base(fr[i][0]) for i in s[9]]
        for i in s[9]:
            if fr[i][0] is None or bare.search(";" + fr[i][0]):
                fails.append(f"{tag}: HTML frame {fr[i]} has no name")
        if names and names[0] == "leaf":
            if names[:4] == ["leaf", "mid", "top", "main"]:
                good += 1
            else:
                bad += 1
    inl = [s for s in d["sites"] if s[9] and fr[s[9][0]][0] == "inl_inner [inlined]"]
    if not inl or [base(fr[i][0]) for i in inl[0][9][:3]] != ["inl_inner [inlined]", "inl_outer [inlined]", "inl_real"]:
        fails.append(f"{tag}: HTML data: no inlined frames under inl_real")
    if good == 0 or bad:
        fails.append(f"{tag}: HTML flame data: {good} leaf sites whole, {bad} not")
    else:
        print(f"ok: {tag}: HTML flame data: every leaf site under main;top;mid;leaf")

check_json("cxx", ["cxx_leaf(unsigned long)", "cxx_top(unsigned long)", "main"],
           "cxx_leaf(unsigned long)", "allocs")
r = msjson.load(f"{out}/cxx.json")
th = [frames_of(r, s) for s in r["sites"] if frames_of(r, s)[0] == "thread_leaf()"]
if not th or "thread_body()" not in th[0] or th[0][-1] in ("[cut]", "[truncated]"):
    fails.append(f"cxx: the std::thread's stack: {th}")
else:
    print(f"ok: cxx: std::thread stack {';'.join(reversed([str(n) for n in th[0]]))}")

for tag in ("nest-exact", "nest-exact2", "nest-sampled"):
    lines = folded_lines(f"{out}/{tag}.alloc.folded" if tag == "nest-sampled" else f"{out}/{tag}.folded")
    for lib in ("lib_first", "lib_second"):
        want = ["main", "use_lib", "lib_alloc", lib]
        got = sum(v for k, v in lines.items() if k.split(";")[-4:] == want)
        if (tag != "nest-sampled" and got != 444) or got == 0:
            fails.append(f"{tag}: {got} bytes under {';'.join(want)}, expected 444")
        else:
            print(f"ok: {tag}: the dlclose'd library's block is under {';'.join(want)}")
a, b = folded_lines(f"{out}/nest-exact.folded"), folded_lines(f"{out}/nest-exact2.folded")
if a != b:
    diff = sorted(set(a.items()) ^ set(b.items()))[:6]
    fails.append(f"two runs give different folded stacks: {diff}")
else:
    print(f"ok: two runs give the same {len(a)} folded stacks")
if fails:
    print("FAIL:\n  " + "\n  ".join(fails), file=sys.stderr)
    sys.exit(1)
EOF
