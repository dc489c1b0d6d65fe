# perl_workload.pl - hash, array, string and regex work on ~100k items, run
# by tests/integration/real_perl.sh with and without libmemscope_malloc
# preloaded. Prints only what the code determines: hashes are iterated
# through sort, the random generator is seeded, PERL_HASH_SEED is fixed.
use strict;
use warnings;
no warnings 'recursion';    # the tree walk below goes 300 calls deep
use Digest::MD5 qw(md5_hex);
use List::Util qw(sum max min reduce);

my $N = shift // 100_000;
srand(42);
my $total = Digest::MD5->new;
sub report {
    my ($name, @v) = @_;
    my $h = md5_hex(join("\x1f", @v));
    $total->add("$name=$h");
    printf "%-9s %s\n", $name, $h;
}

# 1. a hash of N records, arrays inside
my @words = qw(alpha bravo charlie delta echo foxtrot golf hotel india
               juliet kilo lima mike november oscar papa);
my %rec;
for my $i (1 .. $N) {
    my $k = sprintf "%s-%06d", $words[$i % @words], int(rand(1_000_000));
    push @{ $rec{$k}{ids} }, $i;
    $rec{$k}{score} += ($i * 7919) % 1000;
    $rec{$k}{tags} = [ map { $words[($i + $_) % @words] } 0 .. $i % 5 ];
}
my @keys = sort keys %rec;
report("hash", scalar(@keys),
       map { "$_:$rec{$_}{score}:@{$rec{$_}{ids}}:@{$rec{$_}{tags}}" } @keys[0 .. 999]);

# 2. arrays: sort, splice, reverse, grep, map
my @nums = map { int(rand(1 << 30)) } 1 .. $N;
my @sorted = sort { $a <=> $b } @nums;
my @strs = sort map { "$_" } @nums[0 .. 49_999];
my @evens = grep { $_ % 2 == 0 } @sorted;
my @sq = map { ($_ % 1000) ** 2 } @evens;
splice(@sq, 100, 5000, reverse @sq[0 .. 999]);
report("arrays", scalar(@evens), sum(@sq), max(@nums), min(@nums),
       @sorted[map { $_ * 997 } 0 .. 99], @strs[map { $_ * 499 } 0 .. 99]);

# 3. strings: concatenation, substr, join/split, sprintf, tr, uc/lc, x
my $big = '';
for my $i (0 .. $N - 1) {
    $big .= sprintf("%x:%s;", $i * 31, $words[$i % @words]);
}
my @fields = split /;/, $big;
my $rev = reverse $big;
(my $up = uc substr($big, 1000, 200_000)) =~ tr/A-F/a-f/;
my $rep = join ',', map { ('ab' x ($_ % 7)) . $_ } 1 .. 20_000;
report("strings", length($big), scalar(@fields), md5_hex($rev), md5_hex($up),
       md5_hex($rep), index($big, 'beef'), rindex($big, 'dead'));

# 4. regex: captures, global matches, substitutions, named captures
my (%cnt, @swapped);
for my $f (@fields) {
    if ($f =~ /^([0-9a-f]+):(\w+)$/) {
        $cnt{$2} += length $1;
        (my $s = $f) =~ s/^([0-9a-f]+):(\w+)$/$2=$1/;
        push @swapped, $s;
    }
}
my @hex = ($big =~ /([0-9a-f]{5,})/g);
(my $vow = substr($big, 0, 300_000)) =~ s/([aeiou])/\U$1/g;
my $named = 0;
while ($big =~ /(?<h>[0-9a-f]{4}):(?<w>[a-z])/g) { $named += ord($+{w}) + hex($+{h}) }
report("regex", (map { "$_=$cnt{$_}" } sort keys %cnt), scalar(@hex),
       @swapped[map { $_ * 1001 } 0 .. 90], md5_hex($vow), $named);

# 5. nested structures built and torn down, with references and closures
my @trees;
for my $t (1 .. 200) {
    my $node = { v => $t, kids => [] };
    my $root = $node;
    for my $d (1 .. 300) {
        my $k = { v => $t * $d, kids => [], up => $node };
        push @{ $node->{kids} }, $k, { v => -$d };
        $node = $k;
    }
    push @trees, $root;
}
my $walk;
$walk = sub {
    my $n = shift;
    my $s = $n->{v};
    $s += $walk->($_) for @{ $n->{kids} || [] };
    return $s;
};
my $tsum = reduce { $a + $walk->($b) } 0, @trees;
for my $r (@trees) {    # break the up-links, so the trees are freed
    my $n = $r;
    while (my $k = $n->{kids}[0]) { delete $k->{up}; $n = $k }
}
@trees = ();
report("trees", $tsum);

# 6. hash churn: insert, delete, re-insert
my %churn;
for my $round (1 .. 5) {
    $churn{"$round-$_"} = [ ($_) x 3 ] for 1 .. 20_000;
    delete $churn{"$round-$_"} for grep { $_ % 3 } 1 .. 20_000;
}
report("churn", scalar(keys %churn), sum(map { $churn{$_}[0] } sort keys %churn));

print "total     ", $total->hexdigest, "\n";
