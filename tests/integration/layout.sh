#!/usr/bin/env bash
# layout.sh - the folders include each other one way only (docs/design.md,
# "Layout"): allocator/ -> tracer/ (its seam: trace.h, fast.h) and
# engine/; tracer/ -> engine/ and exporters/; exporters/ -> nothing of
# ours but include/; cli/ -> exporters/. So no file under tracer/ includes
# a file of allocator/, none under exporters/ includes anything of tracer/
# (tracer/internal.h above all) or of allocator/, and engine/ includes
# nothing of ours. Every #include "..." of the sources is checked.
set -euo pipefail
. "$(dirname "$0")/common.bash"

cd "$REPO"
bad=()
check() {   # folder, pattern of forbidden include targets, why
    local dir=$1 pat=$2 why=$3 hits
    hits=$(grep -HnE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"'"$pat" \
        "$dir"/*.c "$dir"/*.h 2>/dev/null || true)
    if [ -n "$hits" ]; then
        bad+=("$why:"$'\n'"$hits")
    fi
}
check tracer '(\.\./)*allocator/' "tracer/ includes allocator/"
check exporters '(\.\./)*tracer/' "exporters/ includes tracer/"
check exporters '(\.\./)*allocator/' "exporters/ includes allocator/"
check exporters '(\.\./)*cli/' "exporters/ includes cli/"
check engine '(\.\./)*(allocator|tracer|exporters|cli)/' "engine/ includes another folder"
check allocator '(\.\./)*(exporters|cli)/' "allocator/ includes exporters/ or cli/"
check cli '(\.\./)*(tracer|allocator)/' "cli/ includes tracer/ or allocator/"
# and the check can fail: it sees an include that is there
grep -qE '^#include "\.\./engine/engine\.h"' tracer/trace.c ||
    ms_fail "layout.sh reads no include of tracer/trace.c: the check itself is broken"
if [ ${#bad[@]} -gt 0 ]; then
    printf '%s\n' "${bad[@]}" >&2
    ms_fail "folders include each other against the layout (above)"
fi
echo "ok: tracer/ includes nothing of allocator/, exporters/ nothing of tracer/ or allocator/, engine/ nothing of ours"
