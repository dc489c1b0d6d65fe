#!/usr/bin/env bash
# cxx_operators.sh - every C++ operator new/delete form on memscope's
# allocator (tests/programs/cxx_ops.cc): the same stdout and exit status 0
# without and with the library preloaded; with it, every operator the
# program and libstdc++ call binds to the library (dladdr in the program,
# and the dynamic linker's own account). Preloaded runs go with the tracer
# on (the default) and off.
set -euo pipefail
. "$(dirname "$0")/common.bash"

PROG=$(ms_prog cxx_ops)
ms_setup cxx_operators
cd "$TMP"       # reports the tracer writes at exit land here

ms_both ops "$PROG"
ms_compare ops
# the allocator without the tracer (its own path through cxx.c)
ms_both ops_untraced env MEMSCOPE_ENABLE=0 "$PROG"
ms_compare ops_untraced

# Sampled mode counts each operator by kind on its inlined path (fast.h):
# the same counts as exact mode, where every call goes through the hooks.
for sample in 0 512k; do
    MEMSCOPE_SAMPLE=$sample MEMSCOPE_NAME=kinds$sample ms_run pre kinds$sample "$PROG"
    [ "$(cat "$TMP/kinds$sample.pre.rc")" = 0 ] || ms_fail "kinds$sample: cxx_ops failed"
done
/usr/bin/python3 - "$TMP/reports" <<'PY' || ms_fail "sampled mode's counts of new and delete are not exact mode's"
import json, sys
s = {m: json.load(open("%s/kinds%s.json" % (sys.argv[1], m)))["summary"] for m in ("0", "512k")}
bad = 0
for part, keys in (("alloc_kinds", ("new", "new[]")), ("free_kinds", ("delete", "delete[]"))):
    for k in keys:
        e, g = s["0"][part][k], s["512k"][part][k]
        if e == 0 or e != g:
            print("%s.%s: exact %d, sampled %d" % (part, k, e, g))
            bad = 1
sys.exit(bad)
PY
echo "ok: sampled mode counts new, new[], delete and delete[] as exact mode does"

# dladdr on the address of each operator, as the program sees it
rc=0
LD_PRELOAD=$MEMSCOPE_LIB CXX_OPS_EXPECT_LIB=libmemscope_malloc "$PROG" \
    >"$TMP/where.out" 2>"$TMP/where.err" || rc=$?
if [ $rc != 0 ]; then
    grep -E 'WRONG|FAIL' "$TMP/where.out" "$TMP/where.err" >&2 || true
    ms_fail "with CXX_OPS_EXPECT_LIB, cxx_ops exited $rc"
fi
n=$(grep -c '^resolves: .* libmemscope_malloc\.so$' "$TMP/where.out" || true)
[ "$n" = 22 ] || ms_fail "expected 22 operators resolving into libmemscope_malloc.so, got $n"
echo "ok: dladdr puts all 20 operators, malloc and free in libmemscope_malloc.so"

# The dynamic linker's bindings, all resolved up front (LD_BIND_NOW).
log=$TMP/bindings
LD_PRELOAD=$MEMSCOPE_LIB LD_BIND_NOW=1 LD_DEBUG=bindings LD_DEBUG_OUTPUT=$log \
    "$PROG" >/dev/null 2>&1 || true
cat "$log".* >"$TMP/bindings.all" 2>/dev/null || ms_fail "LD_DEBUG wrote no log"
ops=$(grep -E '^_Z(nw|na|dl|da)' "$REPO/allocator/exports.txt")
missing=
for sym in $ops; do
    grep -qE "binding file ([^ ]*/)?cxx_ops \[0\] to $MEMSCOPE_LIB \[0\]: normal symbol \`$sym'" \
        "$TMP/bindings.all" || missing="$missing $sym"
done
[ -z "$missing" ] || ms_fail "cxx_ops's operators not bound to the library:$missing"
# No operator may bind anywhere else, from any object (libstdc++ included)
# but the library itself, which may look up the runtime's own (RTLD_NEXT).
if grep -E "normal symbol \`_Z(nw|na|dl|da)[a-zA-Z0-9_]*'" "$TMP/bindings.all" |
        grep -vF -e "to $MEMSCOPE_LIB [0]" -e "binding file $MEMSCOPE_LIB [0]" \
        >"$TMP/elsewhere"; then
    head -5 "$TMP/elsewhere" >&2
    ms_fail "some operator new/delete binds outside the library"
fi
grep -qE "binding file [^ ]*libstdc\+\+[^ ]* \[0\] to $MEMSCOPE_LIB \[0\]: normal symbol \`_Znwm'" \
    "$TMP/bindings.all" || ms_fail "libstdc++'s own operator new calls do not bind to the library"
echo "ok: the dynamic linker binds all $(echo "$ops" | wc -w) operators of cxx_ops (and libstdc++'s) to $(basename "$MEMSCOPE_LIB")"
