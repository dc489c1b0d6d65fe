#!/usr/bin/env bash
# link_install.sh - `make install PREFIX=...` installs a usable library:
# pkg-config finds it, a program linked with `pkg-config --cflags --libs
# memscope` gets its malloc from libmemscope_malloc.so (dladdr says so) and
# can call memscope_version(); a program linked with the static archive
# gets its malloc from its own executable. Both then allocate a lot from
# several threads (tests/data/link_app.c). The installed tool works, and
# `make uninstall` removes what install put there.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need make pkg-config cc
ms_setup link_install
P=$TMP/prefix
APP=$REPO/tests/data/link_app.c

# Install what is built, without rebuilding anything: `make check` built
# it already, and a rebuild here could race with the tests running beside
# this one (-o: treat these as up to date whatever their prerequisites).
# The tree is $BUILD's (build-san under SANITIZE=1, whether or not a make
# above passes SANITIZE down), named as the makefile names it.
B=${BUILD#"$REPO"/}
noremake=(-o "$B/libmemscope_malloc.so" -o "$B/libmemscope_malloc.a"
          -o "$B/memscope" -o "$B/memscope_all.o")
if ! make -C "$REPO" --no-print-directory BUILD="$B" "${noremake[@]}" install \
        PREFIX="$P" >"$TMP/install.log" 2>&1; then
    tail -20 "$TMP/install.log" >&2
    ms_fail "make install failed"
fi
for f in lib/libmemscope_malloc.so lib/libmemscope_malloc.a include/memscope.h \
         bin/memscope lib/pkgconfig/memscope.pc; do
    [ -f "$P/$f" ] || ms_fail "make install did not install $f"
done
cmp -s "$P/lib/libmemscope_malloc.so" "$MEMSCOPE_LIB" ||
    ms_fail "the installed library is not the built one"
echo "ok: make install"

export PKG_CONFIG_PATH=$P/lib/pkgconfig
unset PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
version=$(sed -n 's/.*MEMSCOPE_VERSION_STRING "\(.*\)"/\1/p' "$REPO/include/memscope.h")
[ "$(pkg-config --modversion memscope)" = "$version" ] ||
    ms_fail "pkg-config --modversion memscope: '$(pkg-config --modversion memscope)', want '$version'"
read -r -a pc_flags <<<"$(pkg-config --cflags --libs memscope)"
echo "ok: pkg-config memscope $version: ${pc_flags[*]}"

# dynamically linked, through pkg-config
cc -std=gnu11 -O2 -Wall -Wextra -Werror -pthread -o "$TMP/app_shared" "$APP" \
    "${pc_flags[@]}" -Wl,-rpath,"$P/lib" -ldl ||
    ms_fail "cannot build a program with pkg-config --cflags --libs memscope"
# (no `cmd | grep -q` here: with pipefail, grep's early exit can fail cmd)
dyn=$(readelf -d "$TMP/app_shared")
grep -q 'NEEDED.*libmemscope_malloc\.so' <<<"$dyn" ||
    ms_fail "the program does not need libmemscope_malloc.so"
out=$("$TMP/app_shared" shared 2>&1) || { echo "$out" >&2; ms_fail "app_shared failed"; }
echo "$out"
grep -qx "memscope_version $version" <<<"$out" || ms_fail "app_shared: wrong version"
# the installed library, not the build tree's
deps=$(ldd "$TMP/app_shared")
grep -qF "=> $P/lib/libmemscope_malloc.so" <<<"$deps" ||
    ms_fail "app_shared does not load $P/lib/libmemscope_malloc.so: $deps"
echo "ok: shared link"

# statically linked with the archive
cc -std=gnu11 -O2 -Wall -Wextra -Werror -pthread -I"$P/include" -o "$TMP/app_static" \
    "$APP" "$P/lib/libmemscope_malloc.a" -lpthread -ldl -lm ||
    ms_fail "cannot build a program with libmemscope_malloc.a"
dyn=$(readelf -d "$TMP/app_static")
if grep -q 'NEEDED.*libmemscope' <<<"$dyn"; then
    ms_fail "app_static needs a memscope shared library"
fi
syms=$(nm -D --defined-only "$TMP/app_static")
grep -q ' T malloc$' <<<"$syms" ||
    ms_fail "app_static does not define and export malloc"
out=$("$TMP/app_static" static 2>&1) || { echo "$out" >&2; ms_fail "app_static failed"; }
echo "$out"
grep -qx "memscope_version $version" <<<"$out" || ms_fail "app_static: wrong version"
echo "ok: static link"

# the installed tool finds the installed library
[ "$("$P/bin/memscope" --version)" = "memscope $version" ] ||
    ms_fail "installed memscope --version"
pre=$("$P/bin/memscope" run -- sh -c 'echo "$LD_PRELOAD"')
[ "$(realpath "$pre")" = "$(realpath "$P/lib/libmemscope_malloc.so")" ] ||
    ms_fail "installed memscope run preloads '$pre'"
echo "ok: installed tool"

make -C "$REPO" --no-print-directory uninstall PREFIX="$P" >"$TMP/uninstall.log" 2>&1 ||
    { tail -20 "$TMP/uninstall.log" >&2; ms_fail "make uninstall failed"; }
left=$(find "$P" -type f)
[ -z "$left" ] || ms_fail "make uninstall left: $left"
echo "ok: make uninstall"
