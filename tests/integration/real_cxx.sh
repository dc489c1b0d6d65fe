#!/usr/bin/env bash
# real_cxx.sh - a C++ program on memscope's malloc and operator new/delete:
# tests/programs/cxx_containers.cc (built by tests.mk into $PROGS) runs some
# hundred thousand operations on std::map, std::string, std::vector,
# std::unordered_map, std::shared_ptr and friends, threads that free each
# other's blocks, over-aligned new and a failing new, and prints a checksum.
# Output, stderr and exit status must be those of a run without the library.
set -euo pipefail
. "$(dirname "$0")/common.bash"

PROG=$PROGS/cxx_containers
if [ ! -x "$PROG" ]; then
    ms_need c++
    ms_fail "$PROG not built (make check-build)"
fi
ms_setup real_cxx
# every process it starts traced too, as a program under test (the
# default, MEMSCOPE_CHILDREN=fork, leaves exec'd ones untraced)
export MEMSCOPE_CHILDREN=all

# its operator new and delete (sized, aligned, array) and libstdc++'s are ours
MS_BIND_SYMS="_Znwm _ZdlPvm _ZnwmSt11align_val_t _ZdlPvmSt11align_val_t _Znam _ZdaPv _ZnamRKSt9nothrow_t" \
    ms_assert_binds "$PROG" "$PROG"
MS_BIND_SYMS="_Znwm _ZdlPv malloc free" ms_assert_binds libstdc++.so.6 "$PROG"

ms_both default "$PROG"
ms_compare default stderr
grep -q '^checksum ' "$TMP/default.pre.out" || ms_fail "the program did not finish"
grep -q 'huge new threw yes, nothrow huge new null' "$TMP/default.pre.out" ||
    ms_fail "a failing new did not throw std::bad_alloc / return null"
ms_both scale3 "$PROG" 3
ms_compare scale3 stderr
