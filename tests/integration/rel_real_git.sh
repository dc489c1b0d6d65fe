#!/usr/bin/env bash
# rel_real_git.sh - git on its own operations under `memscope run`: init,
# add, commit (REL_GIT_COMMITS commits of REL_GIT_FILES files: 6 x 100;
# 40 x 2000 in make stress), log -p, gc --aggressive, fsck. Each git
# command runs once plainly in one directory and once under
# `memscope run -q --follow-children -o DIR` in another: stdout, stderr
# (no summary: -q) and status identical
# (fixed names and dates: same commit hashes), and every process (git and
# the programs it starts: pack-objects, repack...) wrote its own complete
# JSON report, no temporary file left.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ms_need git /usr/bin/python3
[ -x "$MEMSCOPE_TOOL" ] || ms_fail "$MEMSCOPE_TOOL not built (run make)"
ms_setup rel_real_git
COMMITS=${REL_GIT_COMMITS:-6}
FILES=${REL_GIT_FILES:-100}
R=$TMP/reports-git

export HOME=$TMP GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME="Ada Author" GIT_AUTHOR_EMAIL=ada@example.org
export GIT_COMMITTER_NAME="Carl Committer" GIT_COMMITTER_EMAIL=carl@example.org
export GIT_PAGER=cat PAGER=cat GIT_TERMINAL_PROMPT=0 GIT_OPTIONAL_LOCKS=0
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY

# gitc ARGS: git ARGS run under $PREFIX, its failure status printed
gitc() {
    "${PREFIX[@]}" git "$@" || echo "status $? from git $1"
}

# workload DIR PREFIX...: the git commands, each run as PREFIX git ARGS
# (PREFIX starts with a timeout: "status 124" in the output is a hang)
workload() {
    local dir=$1 c f
    shift
    PREFIX=("$@")
    mkdir -p "$dir"
    cd "$dir"
    gitc init -q -b main .
    mkdir -p d0 d1 d2 d3 d4 d5 d6 d7 d8 d9
    for c in $(seq "$COMMITS"); do
        # a third of the files change in each commit
        awk -v c="$c" -v n="$FILES" 'BEGIN {
            for (f = 1; f <= n; f++) {
                if ((f + c) % 3 != 0) continue
                path = sprintf("d%d/f%d.txt", f % 10, f)
                printf "file %d commit %d\n", f, c > path
                for (k = f; k <= f + c * 3; k++) printf "%d ", k > path
                printf "\n" > path
                close(path)
            }
        }'
        gitc add -A
        export GIT_AUTHOR_DATE="2024-01-$((c % 28 + 1))T12:00:00Z" GIT_COMMITTER_DATE="2024-01-$((c % 28 + 1))T12:00:00Z"
        gitc commit -q -m "commit $c"
    done
    gitc log --stat --format='%H %an %s'
    gitc log -p -n 3 --format=%H | md5sum
    gitc gc --aggressive --quiet
    gitc count-objects -v | grep -v size
    gitc fsck --no-progress
    gitc rev-parse HEAD
    cd "$TMP"
}

start=$SECONDS
ms_run plain git workload "$TMP/plain" timeout 120
ms_run pre-inner git workload "$TMP/traced" timeout 120 "$MEMSCOPE_TOOL" run -q --follow-children -o "$R" --
grep -q "status 124" "$TMP/git.pre.out" && ms_fail "a git command under memscope hung (timeout 120 s): $(grep 'status 124' "$TMP/git.pre.out")"
ms_compare git stderr
echo "    ($((SECONDS - start)) s for both runs)"

shopt -s nullglob
reps=("$R"/git-*.json)
n=${#reps[@]}
minimum=$((2 * COMMITS + 6))
[ "$n" -ge $minimum ] || ms_fail "$n git reports, want at least $minimum (one per git command)"
ms_reports_check --pid name --mode exact --trigger exit "${reps[@]}"
others=("$R"/*.json)
[ ${#others[@]} -gt "$n" ] && echo "    and $(( ${#others[@]} - n )) reports of programs git started: $(cd "$R" && ls *.json | grep -v '^git-' | sed 's/-[0-9]*\.json//' | sort | uniq -c | tr -s ' \n' ' ')"
ms_reports_check --pid name --trigger exit "${others[@]}" >/dev/null
ms_no_tmp "$R"
echo "ok: $n git processes under memscope run: identical output and a complete report each"
