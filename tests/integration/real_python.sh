#!/usr/bin/env bash
# real_python.sh - CPython runs on memscope's malloc: with PYTHONMALLOC=malloc
# every Python object comes from malloc, so py_workload.py (~200k records,
# json, strings, sorting, a class-based tree, regex, threads, gc) drives the
# allocator hard. Its output, stderr and exit status must be those of a run
# without the library.
set -euo pipefail
. "$(dirname "$0")/common.bash"

PY=/usr/bin/python3     # the system interpreter, not a pyenv shim
ms_need "$PY"
ms_setup real_python
# every process it starts traced too, as a program under test (the
# default, MEMSCOPE_CHILDREN=fork, leaves exec'd ones untraced)
export MEMSCOPE_CHILDREN=all
WORKLOAD=$REPO/tests/programs/py_workload.py
export PYTHONHASHSEED=0 PYTHONMALLOC=malloc PYTHONDONTWRITEBYTECODE=1
unset PYTHONPATH PYTHONHOME PYTHONSTARTUP

# The interpreter's malloc is ours, seen from the dynamic linker and from
# inside the process (ctypes): the library's API answers, and a 100-byte
# block has jemalloc's 112-byte size class (glibc gives it 104 bytes).
ms_assert_binds "$PY" "$PY" -c pass
LD_PRELOAD=$MEMSCOPE_LIB "$PY" -s - <<'PYEOF' || ms_fail "malloc is not served by the library inside python"
import ctypes, sys
libc = ctypes.CDLL(None)
libc.memscope_version.restype = ctypes.c_char_p
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.malloc_usable_size.argtypes = [ctypes.c_void_p]
libc.free.argtypes = [ctypes.c_void_p]
version = libc.memscope_version().decode()
p = libc.malloc(100)
usable = libc.malloc_usable_size(p)
libc.free(p)
if usable != 112:
    sys.exit(f"malloc(100) has {usable} usable bytes, not jemalloc's 112")
print(f"ok: memscope {version} serves python's malloc (malloc(100): {usable} usable bytes)")
try:    # PYTHONMALLOC=malloc is in force (3: PYMEM_ALLOCATOR_MALLOC)
    import _testinternalcapi
    alloc = _testinternalcapi.get_configs()["pre_config"]["allocator"]
    if alloc != 3:
        sys.exit(f"python's allocator is {alloc}, not malloc (3)")
except ImportError:
    pass
# a float object (24 bytes, no GC header) is a block of its own: 32 bytes
x = float(sys.argv[0] == "-") + 0.5
usable = libc.malloc_usable_size(id(x))
if usable != 32:
    sys.exit(f"a float object's block has {usable} usable bytes, not 32")
print(f"ok: python objects are malloc blocks (a float's: {usable} bytes)")
PYEOF

# (not -I or -E: they make python ignore PYTHONMALLOC)
ms_both workload "$PY" -s "$WORKLOAD"
ms_compare workload stderr
grep -q '^total ' "$TMP/workload.pre.out" || ms_fail "workload did not finish"
# the same with python's own small-object allocator over our malloc
PYTHONMALLOC=pymalloc ms_both pymalloc "$PY" -s "$WORKLOAD" 30000
ms_compare pymalloc stderr
