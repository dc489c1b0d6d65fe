#!/usr/bin/env bash
# git_workload.sh DIR - builds a git repository in DIR (~300 files, 20
# commits, a branch and a merge, a tag), then runs log, diff, show, blame,
# status, gc, fsck and friends, printing what they print.
#
# Run by tests/integration/real_git.sh. Every git command goes through g(),
# which preloads $MS_PRELOAD when it is set, so only git (and the programs
# git starts: pack-objects, index-pack...) runs on the library, not this
# script's own tools. Names, e-mails and dates are fixed, so the commit
# hashes are a function of this script and the git version.
set -euo pipefail

DIR=$1
mkdir -p "$DIR"
cd "$DIR"

export HOME=$DIR GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME="Ada Author" GIT_AUTHOR_EMAIL=ada@example.org
export GIT_COMMITTER_NAME="Carl Committer" GIT_COMMITTER_EMAIL=carl@example.org
export GIT_PAGER=cat PAGER=cat GIT_TERMINAL_PROMPT=0 GIT_OPTIONAL_LOCKS=0
export TZ=UTC LC_ALL=C
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY

g() {
    if [ -n "${MS_PRELOAD:-}" ]; then
        LD_PRELOAD=$MS_PRELOAD git "$@"
    else
        git "$@"
    fi
}

at() {   # at N: the dates of commit number N
    local t=$((1700000000 + $1 * 3600))
    export GIT_AUTHOR_DATE="@$t +0000" GIT_COMMITTER_DATE="@$((t + 60)) +0000"
}

# write_files ROUND: rewrites a round-dependent subset of the tree
write_files() {
    awk -v r="$1" 'BEGIN {
        for (d = 0; d < 6; d++) {
            for (f = 0; f < 50; f++) {
                id = d * 50 + f
                if (r > 0 && (id * 7 + r * 13) % 5 != 0) continue  # ~1/5 change
                path = sprintf("src/d%d/file%03d.txt", d, f)
                n = 20 + (id * 37 + r * 11) % 60
                printf "# %s, round %d\n", path, r > path
                for (i = 0; i < n; i++) {
                    v = (id * 1103515245 + i * 12345 + (i % 7 == 0 ? r : 0)) % 2147483648
                    printf "line %04d value %010d %s\n", i, v, \
                        substr("the quick brown fox jumps over the lazy dog", 1 + v % 20) > path
                }
                close(path)
            }
        }
    }'
}

for d in 0 1 2 3 4 5; do mkdir -p "src/d$d"; done
g -c init.defaultBranch=main init -q .
g config core.autocrlf false
g config gc.auto 0
g config pack.threads 1
g config core.fsmonitor false

for r in $(seq 0 19); do
    at "$r"
    write_files "$r"
    if [ "$r" -gt 0 ] && [ $((r % 4)) -eq 0 ]; then
        g rm -q -f "src/d$((r % 6))/file00$((r % 10)).txt"
        g mv "src/d1/file0$((r + 10)).txt" "src/d1/renamed_$r.txt"
    fi
    printf 'round %d\n' "$r" >>CHANGES
    g add -A
    g commit -q -m "round $r: update sources" -m "Body of commit $r."
    if [ "$r" -eq 9 ]; then
        g tag -a v1.0 -m "release 1.0"
        g checkout -q -b topic
        at 100
        printf 'topic work\n' >src/topic.txt
        g add src/topic.txt
        g commit -q -m "topic: add topic.txt"
        g checkout -q main
    fi
    if [ "$r" -eq 14 ]; then
        at 101
        g merge -q --no-ff -m "merge topic" topic
    fi
done

echo "== rev-parse"; g rev-parse HEAD HEAD~5 v1.0 'HEAD^{tree}' topic
echo "== log"; g log --format='%H %an <%ae> %ad %cn %cd %s' --date=iso-strict --graph --all
echo "== log --stat"; g log --stat --format=fuller -5
echo "== log -p (abridged)"; g log -p -3 --format=%h -- src/d2 | sed -n 1,400p
echo "== diff"; g diff HEAD~10 HEAD | sed -n 1,1000p
echo "== diff --stat"; g diff --stat v1.0 HEAD
echo "== diff -M"; g diff -M --name-status HEAD~19 HEAD
echo "== show"; g show --format=raw v1.0 | sed -n 1,200p
echo "== blame"; g blame -s src/d3/file007.txt | sed -n 1,60p
echo "== ls-tree"; g ls-tree -r -l HEAD | sed -n 1,80p
echo "== count-objects"; g count-objects

# uncommitted changes: modified, deleted, untracked, staged
at 200
echo extra >>src/d0/file001.txt
rm src/d4/file010.txt
echo new >untracked.txt
echo staged >src/staged.txt
g add src/staged.txt
echo "== status"; g status
echo "== status --porcelain"; g status --porcelain=v2 --branch
echo "== diff HEAD"; g diff HEAD --stat
g stash -q
echo "== stash"; g stash list; g status --short

echo "== gc"; g gc -q --aggressive --prune=now
echo "== count-objects after gc"; g count-objects -v | grep -v -e size
echo "== verify-pack"; g verify-pack -s .git/objects/pack/*.idx
echo "== pack"; (cd .git/objects/pack && ls)
echo "== fsck"; g fsck --full --strict --no-progress --no-dangling
echo "== rev-list"; g rev-list --objects --all | sort | sha256sum
echo "== archive"; g archive --format=tar HEAD | sha256sum
echo "== describe"; g describe --tags HEAD
echo "== grep"; g grep -c 'fox' v1.0 -- src/d5 | sed -n 1,20p
echo "== log after gc"; g log --oneline --all | sha256sum
echo "== clone"
g clone -q --no-local "$DIR" "$DIR/clone"
g -C "$DIR/clone" log --format='%H %s' -3
g -C "$DIR/clone" fsck --no-progress --no-dangling
