#!/usr/bin/env bash
# real_git.sh - git on memscope's malloc. tests/data/git_workload.sh builds
# a repository (~300 files, 20 commits with renames and deletions, a tag, a
# branch and a merge, fixed names and dates so the hashes are fixed) and runs
# log, diff, show, blame, status, stash, gc --aggressive, verify-pack, fsck,
# archive and clone. It runs twice in two fresh directories: once plainly,
# once with every git command (and the programs git starts) preloaded. The
# outputs (commit hashes included), stderr, exit status and the packs that
# gc wrote must be identical.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need git awk sha256sum
ms_setup real_git
# every process it starts traced too, as a program under test (the
# default, MEMSCOPE_CHILDREN=fork, leaves exec'd ones untraced)
export MEMSCOPE_CHILDREN=all
GIT=$(command -v git)
WORKLOAD=$REPO/tests/data/git_workload.sh

ms_assert_binds "$GIT" "$GIT" --version

ms_run plain repo bash "$WORKLOAD" "$TMP/plain"
ms_run pre-inner repo bash "$WORKLOAD" "$TMP/pre"
ms_compare repo stderr
grep -q '^v1.0-12-g' "$TMP/repo.pre.out" || ms_fail "git describe did not run"

# gc --aggressive wrote the same pack, byte for byte
for pack in "$TMP"/plain/.git/objects/pack/*.pack; do
    cmp "$pack" "$TMP/pre/.git/objects/pack/${pack##*/}" ||
        ms_fail "the packs gc wrote differ"
done
echo "ok: identical packs"

# read-only commands of the preloaded run's repository, both ways
cd "$TMP/pre"
export HOME=$TMP/pre GIT_CONFIG_NOSYSTEM=1 GIT_PAGER=cat
ms_both ro git log --all -p --stat --format=fuller --date=raw
ms_compare ro stderr
