#!/usr/bin/env bash
# bad_input.sh - every command that reads a binary report (report, info,
# diff) meets bad input with exit status 1, exactly one line on stderr,
# nothing on stdout and no output file (not even a temporary one): every
# prefix of a valid report, bytes flipped, a wrong magic number or
# version, an empty file, a directory, a missing file, other files; and,
# with the checksum made right again (ms_binedit), each structural check
# behind it, with its message. An optional section it does not know is
# skipped. Bad usage exits 2 with one line; --help exits 0.
set -euo pipefail
. "$(dirname "$0")/common.bash"

[ -x "$MEMSCOPE_TOOL" ] || ms_fail "$MEMSCOPE_TOOL not built (run make)"
WL=$(ms_prog ms_workload)
EDIT=$(ms_prog ms_binedit)
ms_setup bad_input
T=$MEMSCOPE_TOOL
O=$TMP/o          # where outputs would go: must stay empty
mkdir -p "$O"

LD_PRELOAD=$MEMSCOPE_LIB MEMSCOPE_OUT=$TMP/out MEMSCOPE_NAME=good MEMSCOPE_TEST_MODE=1 \
    MEMSCOPE_STACK_DEPTH=3 MEMSCOPE_FORMATS=bin,json "$WL" run || ms_fail "workload failed"
GOOD=$TMP/out/good.bin
"$T" report "$GOOD" -o "$TMP/good.json" || ms_fail "the good report does not read"
cmp -s "$TMP/good.json" "$TMP/out/good.json" || ms_fail "the good report reads wrong"
SIZE=$(stat -c %s "$GOOD")
mkdir -p "$TMP/cut"
checks=0

# bad RC PATTERN CMD...: CMD exits RC, one line on stderr matching the
# extended regular expression PATTERN, nothing on stdout, nothing in $O.
# (Builtins only: it runs thousands of times.)
shopt -s nullglob dotglob
bad() {
    local want=$1 pat=$2 rc=0 err left
    shift 2
    "$@" >"$TMP/bad.out" 2>"$TMP/bad.err" || rc=$?
    err=$(<"$TMP/bad.err")
    left=("$O"/*)
    if [ "$rc" != "$want" ] || [ -z "$err" ] || [[ $err == *$'\n'* ]] ||
        [ -s "$TMP/bad.out" ] || [ ${#left[@]} != 0 ] || ! [[ $err =~ $pat ]]; then
        echo "command: $*" >&2
        echo "  exit status $rc (want $want), stdout $(wc -c <"$TMP/bad.out") bytes" >&2
        echo "  stderr: $(head -3 "$TMP/bad.err")" >&2
        echo "  want one line matching: $pat" >&2
        echo "  left in the output directory: ${left[*]}" >&2
        ms_fail "bad input not handled cleanly"
    fi
    checks=$((checks + 1))
}

# bad_file FILE PATTERN: every reading command rejects FILE so.
bad_file() {
    local f=$1 pat=$2
    bad 1 "$pat" "$T" report "$f" -o "$O/x.json"
    bad 1 "$pat" "$T" report "$f" --format folded
    bad 1 "$pat" "$T" info "$f"
    bad 1 "$pat" "$T" diff "$f" "$GOOD" -o "$O/d.md"
    bad 1 "$pat" "$T" diff "$GOOD" "$f" --format json
}

# ---- files that are not reports ------------------------------------------
: >"$TMP/empty.bin"
bad_file "$TMP/empty.bin" '^memscope (report|info|diff): .*empty\.bin: empty file$'
bad_file "$TMP/no-such.bin" 'cannot open .*no-such\.bin: No such file or directory$'
mkdir "$TMP/adir.bin"
bad_file "$TMP/adir.bin" 'cannot read .*adir\.bin: it is a directory$'
bad_file "$TMP/out/good.json" 'not a memscope binary report \(bad magic number\)$'
bad_file /bin/true 'not a memscope binary report'
printf 'MEMSCOPE binary?\n' >"$TMP/text.bin"
bad_file "$TMP/text.bin" 'not a memscope binary report'
echo "ok: not reports: empty, missing, a directory, JSON, ELF, text"

# ---- every prefix, each byte flipped ----------------------------------------
python3 - "$GOOD" "$TMP/cut" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
for i in range(len(data)):
    open("%s/prefix-%d.bin" % (sys.argv[2], i), "wb").write(data[:i])
    b = bytearray(data)
    b[i] ^= 0x20 if i % 2 else 0x01
    open("%s/flip-%d.bin" % (sys.argv[2], i), "wb").write(b)
PY
for ((n = 0; n < SIZE; n++)); do
    bad 1 '(empty file|truncated file)' "$T" report "$TMP/cut/prefix-$n.bin" -o "$O/x.json"
    if ((n % 37 == 0 || n > SIZE - 12)); then
        bad 1 '(empty file|truncated file)' "$T" info "$TMP/cut/prefix-$n.bin"
        bad 1 '(empty file|truncated file)' "$T" diff "$GOOD" "$TMP/cut/prefix-$n.bin"
    fi
done
echo "ok: all $SIZE prefixes of a $SIZE-byte report are rejected"
# the checksum or a header check catches each: every byte of the header
# and the checksum, every 5th byte between
for ((i = 0; i < SIZE; i++)); do
    ((i < 32 || i >= SIZE - 8 || i % 5 == 0)) || continue
    bad 1 '(bad magic|format version|header flags|truncated|unexpected bytes|checksum mismatch)' \
        "$T" report "$TMP/cut/flip-$i.bin" -o "$O/x.json"
done
rm -rf "$TMP/cut"
echo "ok: bytes flipped all over the report are rejected"

# ---- header fields, checksum left wrong and made right -------------------
"$EDIT" --raw "$GOOD" "$TMP/v3raw.bin" 8=0300
bad_file "$TMP/v3raw.bin" 'unsupported format version 3 \(this memscope reads versions 1 to 2\)$'
"$EDIT" "$GOOD" "$TMP/v0.bin" 8=0000
bad_file "$TMP/v0.bin" 'unsupported format version 0 '
"$EDIT" "$GOOD" "$TMP/flags.bin" 10=0100
bad_file "$TMP/flags.bin" 'unknown header flags 0x1$'
"$EDIT" --raw "$GOOD" "$TMP/magic.bin" 1=4e
bad_file "$TMP/magic.bin" 'bad magic number'
"$EDIT" --raw "$GOOD" "$TMP/sum.bin" $((SIZE - 1))=00
bad_file "$TMP/sum.bin" 'checksum mismatch: the file is corrupted$'
cp "$GOOD" "$TMP/extra.bin"
printf 'x' >>"$TMP/extra.bin"
bad_file "$TMP/extra.bin" '1 unexpected bytes after the end of the report$'
echo "ok: magic, version, flags, checksum, trailing bytes"

# ---- structure behind a good checksum --------------------------------------
# payload offsets and lengths from `memscope info`'s sections line
declare -A POFF PLEN HOFF
off=24
for s in $("$T" info "$GOOD" | sed -n 's/^sections: *//p'); do
    tag=${s%%=*}
    HOFF[$tag]=$off
    POFF[$tag]=$((off + 12))
    PLEN[$tag]=${s#*=}
    off=$((off + 12 + ${s#*=}))
done
[ $off = $((SIZE - 8)) ] || ms_fail "info's sections do not add up to the file"
le8() { python3 -c "import sys; print(int(sys.argv[1]).to_bytes(8, 'little').hex())" "$1"; }

crafted() {     # PATTERN EDIT...: the edited report is rejected so
    local pat=$1
    shift
    "$EDIT" "$GOOD" "$TMP/c.bin" "$@"
    bad_file "$TMP/c.bin" "$pat"
}
# 15 sections: the twelve required ones and the optional kind, leak and
# rows sections
crafted 'the header announces 16 sections, the data ends after 15$' 12=10000000
crafted 'section TIME is missing$' 12=0c000000
crafted "unknown required section 'ABCD' at byte ${HOFF[HEAD]}$" "${HOFF[HEAD]}=41424344"
crafted "section SUMM at byte ${HOFF[SUMM]} comes where section HEAD was expected$" \
    "${HOFF[HEAD]}=68656164"
crafted "section STRS at byte 24 claims [0-9]+ bytes, [0-9]+ are left$" \
    "28=$(le8 $((SIZE * 2)))"
crafted "section HEAD at byte [0-9]+: string index 127 out of range \([0-9]+ strings\)$" "${POFF[HEAD]}=7f"
crafted 'section HEAD at byte [0-9]+: the program name is missing$' "${POFF[HEAD]}=00"
crafted 'section HEAD at byte [0-9]+: a varint is not in its shortest form$' "${POFF[HEAD]}=8000"
crafted 'section HEAD at byte [0-9]+: a varint overflows 64 bits$' "${POFF[HEAD]}=ffffffffffffffffff02"
crafted 'section THRD at byte [0-9]+: 34359738367 threads cannot fit in the [0-9]+ bytes left$' \
    "${POFF[THRD]}=ffffffff7f"
crafted 'section SITE at byte [0-9]+: frame index 127 out of range \([0-9]+ frames\)$' \
    "$((POFF[SITE] + 3))=7f"
crafted 'section STRS at byte [0-9]+: string [0-9]+ holds a NUL byte$' "$((POFF[STRS] + 2))=00"
crafted 'section HIST at byte [0-9]+: the size histogram has 47 buckets, version 2 has 48$' \
    "${POFF[HIST]}=2f"
crafted 'section TIME at byte [0-9]+: 1 unread bytes at the end of the section$' \
    "$((HOFF[TIME] + 4))=$(le8 $((PLEN[TIME] + 1)))" "+$((POFF[TIME] + PLEN[TIME]))=00"
crafted "section kind at byte ${HOFF[HEAD]} is out of place or repeated$" 12=10000000 \
    "+${HOFF[HEAD]}=6b696e64$(le8 ${PLEN[kind]})$(dd if="$GOOD" bs=1 skip=${POFF[kind]} count=${PLEN[kind]} 2>/dev/null | od -An -v -tx1 | tr -d ' \n')"
crafted "unknown required section 'XTRA'" 12=10000000 "+${HOFF[HEAD]}=58545241$(le8 3)616263"
crafted 'section leak at byte [0-9]+: leak classes flag 2, expected 0 or 1$' "${POFF[leak]}=02"
crafted "section leak at byte ${HOFF[HEAD]} is out of place or repeated$" 12=10000000 \
    "+${HOFF[HEAD]}=6c65616b$(le8 1)00"
if [ "${PLEN[leak]}" -gt 1 ]; then
    crafted 'section leak at byte [0-9]+: 5 leak classes, this reader knows 4$' \
        "$((POFF[leak] + 1))=05"
fi
# rows: the first row's site index (its first byte), beyond the sites; a
# byte of its figures changed, so its site's rows no longer add up; a
# second rows section
crafted 'section rows at byte [0-9]+: row 0: site index 127 out of range or out of order$' \
    "$((POFF[rows] + 1))=7f"
crafted 'section rows at byte [0-9]+: the rows of site 0 do not add up to its figures$' \
    "$((POFF[rows] + 4))=7f"
crafted "section rows at byte ${HOFF[HEAD]} is out of place or repeated$" 12=10000000 \
    "+${HOFF[HEAD]}=726f7773$(le8 1)00"
echo "ok: structural checks behind a good checksum, each with its message"

# an optional section (lowercase first letter) this reader does not know
"$EDIT" "$GOOD" "$TMP/opt.bin" 12=10000000 "+${HOFF[HEAD]}=78747261$(le8 3)616263"
"$T" report "$TMP/opt.bin" -o "$TMP/opt.json" || ms_fail "an optional section is not skipped"
cmp -s "$TMP/opt.json" "$TMP/out/good.json" || ms_fail "an optional section changed the report"
echo "ok: an unknown optional section is skipped"

# ---- output that cannot be written: nothing appears -------------------------
bad 1 'cannot write .*/no-such-dir/x\.json: No such file or directory$' \
    "$T" report "$GOOD" -o "$O/no-such-dir/x.json"
mkdir "$TMP/isdir"
bad 1 'cannot write .*isdir: Is a directory$' "$T" report "$GOOD" -o "$TMP/isdir"
[ -z "$(ls -A "$TMP" | grep '\.tmp\.')" ] || ms_fail "a temporary file was left behind"
echo "ok: unwritable output: one line, nothing left"

# ---- usage errors: exit 2 ---------------------------------------------------
while IFS= read -r line; do
    # shellcheck disable=SC2086   # word splitting wanted
    bad 2 . "$T" $line
done <<EOF2
report
report $GOOD $GOOD
report $GOOD --bogus
report $GOOD --format xml
report $GOOD --format folded --metric heap
report $GOOD --metric live
report $GOOD -o
info
info $GOOD $GOOD
info --bogus
diff $GOOD
diff $GOOD $GOOD $GOOD
diff --format html $GOOD $GOOD
diff --top x $GOOD $GOOD
snapshot
snapshot abc
snapshot 1 --signal FOO
snapshot 1 --timeout -1
EOF2
echo "ok: usage errors exit 2 with one line"

for c in run report diff snapshot info; do
    "$T" $c --help >"$TMP/help.out" 2>&1 || ms_fail "memscope $c --help exited $?"
    head -1 "$TMP/help.out" | grep -q "^usage: memscope $c" || ms_fail "memscope $c --help: no usage"
done
echo "ok: --help on every command; $checks bad-input checks in all"
