#!/usr/bin/env bash
# fuzz_smoke.sh - a short fuzzing run of the binary report reader (make
# fuzz with FUZZ_TIME=${FUZZ_SMOKE_TIME:-20}, on a fresh corpus from the
# build's seeds): no crash, leak, sanitizer report or allocation over the
# limit (tests/fuzz/fuzz.mk). Every seed is run once first. Skipped when
# clang or its fuzzer runtime (libclang-rt-14-dev) is missing.
set -euo pipefail
. "$(dirname "$0")/common.bash"

CLANG=${FUZZ_CC:-clang}
ms_need "$CLANG" make
ms_setup fuzz_smoke
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; return (int)n * 0; }' \
    >"$TMP/probe.c"
"$CLANG" -fsanitize=fuzzer,address,undefined -o "$TMP/probe" "$TMP/probe.c" >/dev/null 2>&1 ||
    ms_skip "$CLANG cannot build a fuzzer (install libclang-rt-14-dev)"

start=$SECONDS
make -C "$REPO" --no-print-directory BUILD="$BUILD" fuzz-build >"$TMP/build.log" 2>&1 || {
    tail -20 "$TMP/build.log" >&2
    ms_fail "make fuzz-build failed"
}
FUZZ=$BUILD/fuzz/fuzz_bin_read
SEEDS=$BUILD/fuzz/seeds
echo "ok: harness and $(ls "$SEEDS" | wc -l) seeds built in $((SECONDS - start)) s"

"$FUZZ" -runs=0 "$SEEDS" >"$TMP/seeds.log" 2>&1 || {
    tail -30 "$TMP/seeds.log" >&2
    ms_fail "a seed fails the harness"
}
echo "ok: every seed passes the harness"

mkdir "$TMP/corpus"
start=$SECONDS
if ! make -C "$REPO" --no-print-directory BUILD="$BUILD" fuzz \
    FUZZ_TIME="${FUZZ_SMOKE_TIME:-20}" FUZZ_CORPUS="$TMP/corpus" >"$TMP/fuzz.log" 2>&1; then
    grep -E 'ERROR|SUMMARY|out-of-memory|==[0-9]+==|crash-' "$TMP/fuzz.log" | head -20 >&2
    ms_fail "fuzzing found a problem (input saved as $BUILD/fuzz/crash-*)"
fi
runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$TMP/fuzz.log" | tail -1)
echo "ok: make fuzz took $((SECONDS - start)) s: ${runs:-?} runs, $(ls "$TMP/corpus" | wc -l) new inputs, no problem"
grep '^make fuzz:' "$TMP/fuzz.log" || true
