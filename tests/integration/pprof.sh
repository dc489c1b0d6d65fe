#!/usr/bin/env bash
# pprof.sh - pprof profiles (--format pprof, MEMSCOPE_FORMATS=pprof),
# read by a real pprof reader: Go's `go tool pprof` (Debian's golang-go).
# On tests/programs/pprof_prog.c, whose sites, tasks and named blocks are
# known: -top of each sample type lists each site with the exact counts and
# bytes of the JSON report and of the program (exact mode), and within 10 %
# of the program's (sampled mode, one sample per 4 KiB), the JSON's
# estimates exactly; -traces shows the named blocks with their thread,
# task and variable labels; -tagfocus on a task keeps only that task's
# bytes; -diff_base of two snapshots shows the growth between them; on
# one site shared by two threads and two tasks (pprof_prog tasks),
# -tagfocus on each task and each thread keeps exactly what the program
# allocated there (exact) or within 10 % (sampled, one sample per 128 B),
# including blocks another thread freed;
# mappings carry build IDs, and an inlined frame is a line of its caller's
# location (tests/tools/pprof_inline.c). The
# tool writes the same profile from the .bin as the library did; a
# corrupt or truncated .bin gives one line, exit 1, and no file at all.
# Go writes only under $TMP (HOME, GOCACHE, GOPATH); nothing is fetched.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need python3 gzip
command -v go >/dev/null 2>&1 || ms_skip "go is not installed (Debian: golang-go)"
[ -x "$MEMSCOPE_TOOL" ] || ms_fail "$MEMSCOPE_TOOL not built (run make)"
P=$(ms_prog pprof_prog)
ms_setup pprof
T=$MEMSCOPE_TOOL
CHECK="python3 $REPO/tests/data/pprof_check.py"

export HOME=$TMP/home GOCACHE=$TMP/go-cache GOPATH=$TMP/go GOTOOLCHAIN=local \
    GOPROXY=off GOFLAGS=-mod=mod GOENV=off GOTELEMETRY=off PPROF_TMPDIR=$TMP/pprof
mkdir -p "$HOME"
go tool pprof -h >/dev/null 2>&1 || ms_skip "go tool pprof does not run"

# ---- exact mode, written by the library ------------------------------------
OUT=$TMP/out
LD_PRELOAD=$MEMSCOPE_LIB MEMSCOPE_OUT=$OUT MEMSCOPE_NAME=exact MEMSCOPE_TEST_MODE=1 \
    MEMSCOPE_FORMATS=bin,json,pprof "$P" exact "$TMP/snaps" >"$TMP/exact.out" 2>&1 ||
    ms_fail "pprof_prog exact failed: $(head -3 "$TMP/exact.out")"
for f in "$OUT/exact.pb.gz" "$TMP/snaps/snap1.pb.gz" "$TMP/snaps/snap2.pb.gz"; do
    gzip -t "$f" || ms_fail "$f is not a valid gzip file"
done
echo "ok: the library wrote exact.pb.gz and two snapshots' (valid gzip)"
$CHECK exact "$OUT/exact.json" "$OUT/exact.pb.gz" || ms_fail "pprof -top (exact)"
$CHECK traces "$OUT/exact.pb.gz" || ms_fail "pprof -traces"
$CHECK tagfocus "$OUT/exact.json" "$OUT/exact.pb.gz" || ms_fail "pprof -tagfocus"
$CHECK diff "$TMP/snaps/snap1.json" "$TMP/snaps/snap2.json" \
    "$TMP/snaps/snap1.pb.gz" "$TMP/snaps/snap2.pb.gz" || ms_fail "pprof -diff_base"

# the tool makes the same profile again from the .bin
for b in "$OUT/exact" "$TMP/snaps/snap1" "$TMP/snaps/snap2"; do
    "$T" report "$b.bin" --format pprof -o "$TMP/again.pb.gz" ||
        ms_fail "memscope report $b.bin --format pprof failed"
    cmp -s <(gzip -dc "$b.pb.gz") <(gzip -dc "$TMP/again.pb.gz") ||
        ms_fail "$(basename "$b"): the tool's profile differs from the library's"
done
echo "ok: memscope report --format pprof writes the library's profiles again"

# mappings carry the modules' build IDs (the .bin's), as readelf reads them
if command -v readelf >/dev/null 2>&1; then
    bid=$(readelf -n "$P" | sed -n 's/.*Build ID: *//p')
    [ -n "$bid" ] || ms_fail "readelf finds no build ID in $P"
    go tool pprof -raw "$OUT/exact.pb.gz" >"$TMP/raw.txt" 2>&1 || ms_fail "pprof -raw failed"
    grep -Eq "^[0-9]+: 0x[0-9a-f]+/0x[0-9a-f]+/0x0 $P $bid " "$TMP/raw.txt" ||
        ms_fail "no mapping of $P with build ID $bid: $(sed -n '/^Mappings/,$p' "$TMP/raw.txt")"
    echo "ok: the mapping of pprof_prog has its build ID $bid"
fi

# inlined frames are lines of one location (tests/tools/pprof_inline.c)
cc -std=gnu11 -O1 -Wall -Wextra -Werror -D_GNU_SOURCE -I"$REPO/include" -o "$TMP/pprof_inline" \
    "$REPO/tests/tools/pprof_inline.c" "$REPO/exporters/pprof.c" "$REPO/exporters/protobuf.c" \
    "$REPO/exporters/gzip.c" \
    "$REPO/exporters/writer.c" "$REPO/exporters/report.c" "$REPO/cli/xalloc.c" -ldl ||
    ms_fail "cannot build tests/tools/pprof_inline.c"
"$TMP/pprof_inline" "$TMP/inline.pb.gz" || ms_fail "pprof_inline failed"
go tool pprof -raw "$TMP/inline.pb.gz" >"$TMP/inline.txt" 2>&1 || ms_fail "pprof -raw (inline) failed"
python3 - "$TMP/inline.txt" <<'PY' || ms_fail "inlined frames (see above)"
import re, sys
t = open(sys.argv[1]).read()
want = [r"^\s+1: 0x7f0000001234 M=1 leaf_fn demo\.c:10 s=0\n\s+mid_fn demo\.c:20 s=0$",
        r"^\s+2: 0x7f0000002345 M=1 outer_fn demo\.c:30 s=0$",
        r"^\s+4\s+4096\s+2\s+2048: 1 2 $",
        r"^1: 0x7f0000000000/0x7f0000002346/0x0 /opt/demo/libdemo\.so 00112233445566778899aabb \[FN\]\[FL\]\[LN\]$"]
for w in want:
    if not re.search(w, t, re.M):
        sys.exit("pprof -raw lacks %r:\n%s" % (w, t))
print("ok: an inlined frame and its caller are one location of two lines; build ID kept")
PY

# ---- one site, two threads, two tasks: a sample per (site, thread, task) ------
LD_PRELOAD=$MEMSCOPE_LIB MEMSCOPE_OUT=$OUT MEMSCOPE_NAME=tasks MEMSCOPE_TEST_MODE=1 \
    MEMSCOPE_FORMATS=bin,json,pprof "$P" tasks 1 >"$TMP/tasks.out" 2>&1 ||
    ms_fail "pprof_prog tasks failed: $(head -3 "$TMP/tasks.out")"
$CHECK tasks "$OUT/tasks.json" "$OUT/tasks.pb.gz" 1 || ms_fail "pprof -tagfocus (tasks, exact)"
"$T" report "$OUT/tasks.bin" --format pprof -o "$TMP/again.pb.gz" ||
    ms_fail "memscope report tasks.bin --format pprof failed"
cmp -s <(gzip -dc "$OUT/tasks.pb.gz") <(gzip -dc "$TMP/again.pb.gz") ||
    ms_fail "tasks: the tool's profile differs from the library's"
"$T" run -o "$TMP/sampled" -n tasks --sample 128 --formats bin,json,pprof -- \
    "$P" tasks 200 >"$TMP/stasks.out" 2>&1 ||
    ms_fail "memscope run pprof_prog tasks failed: $(head -3 "$TMP/stasks.out")"
$CHECK tasks "$TMP/sampled/tasks.json" "$TMP/sampled/tasks.pb.gz" 200 ||
    ms_fail "pprof -tagfocus (tasks, sampled)"

# ---- sampled mode, through memscope run --formats ---------------------------
"$T" run -o "$TMP/sampled" -n sampled --sample 4096 --formats bin,json,pprof -- \
    "$P" sampled >"$TMP/sampled.out" 2>&1 ||
    ms_fail "memscope run pprof_prog sampled failed: $(head -3 "$TMP/sampled.out")"
$CHECK sampled "$TMP/sampled/sampled.json" "$TMP/sampled/sampled.pb.gz" ||
    ms_fail "pprof -top (sampled)"

# ---- bad input: one line, exit 1, no file -----------------------------------
GOOD=$OUT/exact.bin
SIZE=$(stat -c %s "$GOOD")
mkdir -p "$TMP/o"
bad() {     # FILE WHAT
    local rc=0
    "$T" report "$1" --format pprof -o "$TMP/o/x.pb.gz" >"$TMP/bad.out" 2>"$TMP/bad.err" || rc=$?
    [ "$rc" = 1 ] || ms_fail "$2: exit status $rc, want 1"
    [ "$(wc -l <"$TMP/bad.err")" = 1 ] || ms_fail "$2: not one line on stderr: $(cat "$TMP/bad.err")"
    [ ! -s "$TMP/bad.out" ] || ms_fail "$2: output on stdout"
    [ -z "$(ls -A "$TMP/o")" ] || ms_fail "$2: left $(ls -A "$TMP/o") behind"
}
for n in 0 1 23 $((SIZE / 2)) $((SIZE - 9)) $((SIZE - 1)); do
    head -c "$n" "$GOOD" >"$TMP/cut.bin"
    bad "$TMP/cut.bin" "a .bin cut to $n bytes"
done
for i in 30 $((SIZE / 3)) $((SIZE / 2)) $((SIZE - 20)); do
    python3 -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read()); d[int(sys.argv[2])] ^= 0x10; open(sys.argv[3], "wb").write(d)' \
        "$GOOD" "$i" "$TMP/flip.bin"
    bad "$TMP/flip.bin" "a .bin with byte $i flipped"
done
echo "ok: truncated and corrupted .bin files: one line, exit 1, no .pb.gz"
echo "$(head -1 "$TMP/bad.err")"
