#!/usr/bin/env bash
# exports.sh - the library's symbol interface is closed: the .so exports
# and the .a defines globally exactly the names of allocator/exports.txt
# (lines with a wildcard, memscope_*, match a family of names), all of
# them, and no name of the embedded jemalloc (je_*, ms_je_*) is visible.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need nm
ms_setup exports
AR_LIB=$BUILD/libmemscope_malloc.a
[ -f "$AR_LIB" ] || ms_fail "$AR_LIB not built (run make)"
LIST=$REPO/allocator/exports.txt

mapfile -t entries < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$LIST")
[ ${#entries[@]} -gt 0 ] || ms_fail "$LIST is empty"
patterns=() names=()
for e in "${entries[@]}"; do
    case $e in
    *[\*\?\[]*) patterns+=("$e") ;;
    *) names+=("$e") ;;
    esac
done

listed() {    # NAME: 0 when allocator/exports.txt allows NAME
    local n=$1 e
    for e in "${names[@]}"; do [ "$n" = "$e" ] && return 0; done
    for e in "${patterns[@]}"; do
        # shellcheck disable=SC2053   # $e is a glob on purpose
        [[ $n == $e ]] && return 0
    done
    return 1
}

# check_set WHAT FILE: FILE holds one defined global name a line.
check_set() {
    local what=$1 file=$2 bad=0 n
    [ -s "$file" ] || ms_fail "$what: nm found no defined global symbols"
    while read -r n; do
        if ! listed "$n"; then
            echo "$what: exports $n, which allocator/exports.txt does not list" >&2
            bad=1
        fi
    done <"$file"
    for n in "${names[@]}"; do
        grep -qxF "$n" "$file" || { echo "$what: does not export $n" >&2; bad=1; }
    done
    if grep -E '^(ms_)?je_' "$file" >&2; then
        echo "$what: jemalloc names are visible" >&2
        bad=1
    fi
    [ $bad = 0 ] || ms_fail "$what: the exported symbol set is wrong"
    echo "ok: $what defines $(wc -l <"$file") global symbols, all listed (${#names[@]} names + ${#patterns[@]} pattern(s))"
}

# The shared library's dynamic symbol table (version suffixes dropped).
nm -D --defined-only "$MEMSCOPE_LIB" >"$TMP/so.nm" || ms_fail "nm -D failed on $MEMSCOPE_LIB"
awk 'NF >= 3 { sub(/@.*/, "", $3); print $3 }' "$TMP/so.nm" | sort -u >"$TMP/so.syms"
check_set "$(basename "$MEMSCOPE_LIB")" "$TMP/so.syms"

# The static archive: globals defined by its members.
nm -g --defined-only "$AR_LIB" >"$TMP/a.nm" || ms_fail "nm -g failed on $AR_LIB"
awk 'NF == 3 { print $3 }' "$TMP/a.nm" | sort -u >"$TMP/a.syms"
check_set "$(basename "$AR_LIB")" "$TMP/a.syms"
cmp -s "$TMP/so.syms" "$TMP/a.syms" ||
    ms_fail "the .so and the .a export different sets: $(diff "$TMP/so.syms" "$TMP/a.syms" | grep '^[<>]' | head -5 | tr '\n' ' ')"

# Nothing may still refer to a jemalloc name it expects someone else to
# define (an undefined je_* or ms_je_* would fail at link or load time).
for f in "$MEMSCOPE_LIB" "$AR_LIB"; do
    if nm -u "$f" 2>/dev/null | awk '{print $NF}' | grep -E '^(ms_)?je_' >"$TMP/undef"; then
        ms_fail "$(basename "$f") has undefined jemalloc references: $(head -3 "$TMP/undef" | tr '\n' ' ')"
    fi
done
echo "ok: no jemalloc name is defined globally or left undefined"
