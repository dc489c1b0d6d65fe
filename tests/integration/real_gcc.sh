#!/usr/bin/env bash
# real_gcc.sh - gcc on memscope's malloc: with the library preloaded into
# gcc, every program of the toolchain (the driver, cc1, cc1plus, as,
# collect2, ld, lto1) runs on it. tests/data/gcc_input.c is compiled with
# -O2 both ways, in the same directory under the same names: the objects,
# the assembly and the linked programs must be byte-identical, gcc must exit
# 0 with the same (empty) diagnostics, and the programs must print the same.
# cxx_containers.cc goes through g++ -O2 the same way when g++ is there.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need gcc cmp
ms_setup real_gcc
# every process it starts traced too, as a program under test (the
# default, MEMSCOPE_CHILDREN=fork, leaves exec'd ones untraced)
export MEMSCOPE_CHILDREN=all
GCC=$(command -v gcc)
W=$TMP/work
mkdir "$W"
cp "$REPO/tests/data/gcc_input.c" "$W/prog.c"
cd "$W"

# the driver and the programs it runs: compiler, assembler, linker
ms_assert_binds "$GCC cc1 as collect2 ld" "$GCC" -O2 -o bindcheck prog.c -lm
rm -f bindcheck

# build TAG OUTPUT GCC-ARGS...: runs gcc both ways, keeps OUTPUT of each
# run as OUTPUT.plain and OUTPUT.pre, and checks status and diagnostics.
build() {
    local tag=$1 out=$2 mode
    shift 2
    for mode in plain pre; do
        rm -f "$out"
        ms_run "$mode" "$tag" "$@"
        [ ! -e "$out" ] || mv "$out" "$out.$mode"
    done
    MS_EMPTY_OK=1 ms_compare "$tag" stderr
    [ -s "$out.pre" ] || ms_fail "$tag: gcc wrote no $out"
}

same_file() {   # same_file FILE: FILE.plain and FILE.pre are byte-identical
    if ! cmp "$1.plain" "$1.pre"; then
        if [ "${1%.s}" != "$1" ]; then
            diff -u "$1.plain" "$1.pre" | head -20 >&2 || true
        fi
        ms_fail "$1 differs between the plain and the preloaded compiler"
    fi
    echo "ok: identical $1 ($(wc -c <"$1.pre") bytes)"
}

build object prog.o "$GCC" -c -O2 -g -Wall -Wextra -o prog.o prog.c
same_file prog.o
build asm prog.s "$GCC" -S -O2 -Wall -Wextra -o prog.s prog.c
same_file prog.s
build link prog "$GCC" -O2 -g -Wall -Wextra -o prog prog.c -lm
same_file prog
build lto prog_lto "$GCC" -O2 -flto=1 -o prog_lto prog.c -lm

# the programs print the same; the one the preloaded gcc built, run with
# the library preloaded too, as well
ms_run plain run ./prog.plain
ms_run pre run ./prog.pre
ms_compare run stderr
ms_run plain run_lto ./prog.plain
ms_run pre run_lto ./prog_lto.pre
ms_compare run_lto stderr
grep -q '^digest ' "$TMP/run.pre.out" || ms_fail "the program did not finish"

if command -v g++ >/dev/null 2>&1; then
    cp "$REPO/tests/programs/cxx_containers.cc" cxx.cc
    build cxx_object cxx.o "$(command -v g++)" -std=c++17 -c -O2 -Wall -Wextra -pthread -o cxx.o cxx.cc
    same_file cxx.o
else
    echo "g++ not installed: C++ part skipped"
fi
