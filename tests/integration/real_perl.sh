#!/usr/bin/env bash
# real_perl.sh - perl on memscope's malloc (Debian's perl is built with
# usemymalloc=n: its SVs, hashes and arrays come from malloc). The workload
# (tests/data/perl_workload.pl) does hash, array, string and regex work on
# ~100k items, builds and frees nested structures, and prints digests. Its
# output, stderr and exit status must be those of a run without the library.
set -euo pipefail
. "$(dirname "$0")/common.bash"

PERL=/usr/bin/perl
ms_need "$PERL"
ms_setup real_perl
# every process it starts traced too, as a program under test (the
# default, MEMSCOPE_CHILDREN=fork, leaves exec'd ones untraced)
export MEMSCOPE_CHILDREN=all
"$PERL" -MDigest::MD5 -MList::Util -e 1 2>/dev/null ||
    ms_skip "perl lacks Digest::MD5 or List::Util"
export PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0
unset PERL5LIB PERL5OPT PERLLIB

ms_assert_binds "$PERL" "$PERL" -e 1
ms_both workload "$PERL" "$REPO/tests/data/perl_workload.pl"
ms_compare workload stderr
grep -q '^total ' "$TMP/workload.pre.out" || ms_fail "workload did not finish"
# a larger run, sorted output of a big hash dumped with Data::Dumper
ms_both dumper "$PERL" -MData::Dumper -e '
    $Data::Dumper::Sortkeys = 1; $Data::Dumper::Indent = 1;
    my %h = map { ("k$_" => { n => $_, s => "x" x ($_ % 50), a => [1 .. $_ % 9] }) } 1 .. 30000;
    my $d = Dumper(\%h);
    printf "%d %d\n", length($d), ($d =~ tr/\n//);
    print substr($d, 0, 2000), "\n";'
ms_compare dumper stderr
