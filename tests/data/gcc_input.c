/*
 * gcc_input.c - a nontrivial C program for tests/integration/real_gcc.sh,
 * which compiles it with gcc -O2 with and without libmemscope_malloc
 * preloaded into the compiler (driver, cc1, as, collect2, ld), compares the
 * objects, then runs the programs. Kept outside tests/programs/, whose
 * files tests.mk builds on its own.
 *
 * It prints a deterministic report: an expression evaluator, a hash table,
 * sorting, a red-black-ish balanced tree (an AA tree), matrix arithmetic,
 * a small virtual machine and a checksum of everything.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- checksum ---------------------------------------------------------- */

static uint64_t digest = 1469598103934665603ULL;

static void
mix(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        digest ^= b[i];
        digest *= 1099511628211ULL;
    }
}

static void
mix_u64(uint64_t v)
{
    mix(&v, sizeof(v));
}

static void
say(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0)
        mix(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
    fputs(buf, stdout);
}

static void *
xmalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static uint32_t rng_state = 2463534242u;

static uint32_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* ---- expression evaluator (recursive descent) -------------------------- */

typedef struct {
    const char *s;
    int err;
    long vars[26];
} parser_t;

static long parse_expr(parser_t *p);

static void
skip_ws(parser_t *p)
{
    while (isspace((unsigned char)*p->s))
        p->s++;
}

static long
parse_atom(parser_t *p)
{
    skip_ws(p);
    if (*p->s == '(') {
        p->s++;
        long v = parse_expr(p);
        skip_ws(p);
        if (*p->s == ')')
            p->s++;
        else
            p->err = 1;
        return v;
    }
    if (*p->s == '-') {
        p->s++;
        return (long)(0UL - (unsigned long)parse_atom(p));
    }
    if (islower((unsigned char)*p->s))
        return p->vars[*p->s++ - 'a'];
    if (isdigit((unsigned char)*p->s)) {
        long v = 0;
        while (isdigit((unsigned char)*p->s))
            v = v * 10 + (*p->s++ - '0');
        return v;
    }
    p->err = 1;
    return 0;
}

static long
parse_term(parser_t *p)
{
    long v = parse_atom(p);
    for (;;) {
        skip_ws(p);
        char op = *p->s;
        if (op != '*' && op != '/' && op != '%')
            return v;
        p->s++;
        long r = parse_atom(p);
        if (op == '*')
            v = (long)((unsigned long)v * (unsigned long)r);   /* wraps */
        else if (r == 0 || r == -1)
            p->err = 1;
        else if (op == '/')
            v /= r;
        else
            v %= r;
    }
}

static long
parse_expr(parser_t *p)
{
    long v = parse_term(p);
    for (;;) {
        skip_ws(p);
        char op = *p->s;
        if (op != '+' && op != '-')
            return v;
        p->s++;
        long r = parse_term(p);
        v = (long)(op == '+' ? (unsigned long)v + (unsigned long)r
                             : (unsigned long)v - (unsigned long)r);
    }
}

static void
test_eval(void)
{
    static const char *exprs[] = {
        "1 + 2 * 3", "(1 + 2) * 3", "a * b - c", "((a + b) * (c - d)) / 7",
        "100 % 7 + -3 * (2 - 9)", "z * z + y * y", "(((((1)))))",
        "12345 * 6789 % 1000003", "a / (b - b)", "2 * (3 + ",
    };
    parser_t p;
    memset(&p, 0, sizeof(p));
    for (int i = 0; i < 26; i++)
        p.vars[i] = (long)(i * i + 3);
    unsigned long sum = 0;
    for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
        p.s = exprs[i];
        p.err = 0;
        long v = parse_expr(&p);
        say("eval %-26s = %ld%s\n", exprs[i], p.err ? 0 : v,
            p.err ? " (error)" : "");
        sum += p.err ? 0 : (unsigned long)v;
    }
    /* random expressions, built and evaluated */
    char buf[256];
    for (int k = 0; k < 2000; k++) {
        int n = 0;
        n += snprintf(buf + n, sizeof(buf) - n, "%u", rng() % 100);
        for (int t = 0; t < 8; t++)
            n += snprintf(buf + n, sizeof(buf) - n, " %c (%c + %u)",
                "+-*"[rng() % 3], 'a' + (int)(rng() % 26), rng() % 50);
        p.s = buf;
        p.err = 0;
        sum += (unsigned long)parse_expr(&p);
    }
    say("eval sum %lu\n", sum);
}

/* ---- hash table with chaining and resizing ----------------------------- */

typedef struct entry {
    struct entry *next;
    uint64_t hash;
    int count;
    char key[];
} entry_t;

typedef struct {
    entry_t **slots;
    size_t nslots, n;
} table_t;

static uint64_t
hash_str(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

static void
table_grow(table_t *t)
{
    size_t nn = t->nslots ? t->nslots * 2 : 16;
    entry_t **ns = calloc(nn, sizeof(*ns));
    if (ns == NULL)
        exit(1);
    for (size_t i = 0; i < t->nslots; i++) {
        entry_t *e = t->slots[i], *next;
        for (; e != NULL; e = next) {
            next = e->next;
            e->next = ns[e->hash & (nn - 1)];
            ns[e->hash & (nn - 1)] = e;
        }
    }
    free(t->slots);
    t->slots = ns;
    t->nslots = nn;
}

static entry_t *
table_add(table_t *t, const char *key)
{
    uint64_t h = hash_str(key);
    if (t->nslots != 0) {
        for (entry_t *e = t->slots[h & (t->nslots - 1)]; e; e = e->next)
            if (e->hash == h && strcmp(e->key, key) == 0) {
                e->count++;
                return e;
            }
    }
    if (t->n * 4 >= t->nslots * 3)
        table_grow(t);
    size_t len = strlen(key);
    entry_t *e = xmalloc(sizeof(*e) + len + 1);
    memcpy(e->key, key, len + 1);
    e->hash = h;
    e->count = 1;
    e->next = t->slots[h & (t->nslots - 1)];
    t->slots[h & (t->nslots - 1)] = e;
    t->n++;
    return e;
}

static int
cmp_entry(const void *a, const void *b)
{
    const entry_t *x = *(entry_t *const *)a, *y = *(entry_t *const *)b;
    if (x->count != y->count)
        return y->count - x->count;
    return strcmp(x->key, y->key);
}

static void
test_table(void)
{
    static const char *syl[] = { "ka", "ri", "to", "mu", "sen", "ba", "lo",
        "xi", "pe", "dra" };
    table_t t = { 0 };
    char word[64];
    for (int i = 0; i < 200000; i++) {
        int n = 0, parts = 1 + (int)(rng() % 3);
        for (int k = 0; k < parts; k++)
            n += snprintf(word + n, sizeof(word) - n, "%s", syl[rng() % 10]);
        table_add(&t, word);
    }
    entry_t **all = xmalloc(t.n * sizeof(*all));
    size_t k = 0;
    for (size_t i = 0; i < t.nslots; i++)
        for (entry_t *e = t.slots[i]; e; e = e->next)
            all[k++] = e;
    qsort(all, k, sizeof(*all), cmp_entry);
    say("table %zu distinct words in %zu slots\n", t.n, t.nslots);
    for (size_t i = 0; i < 8 && i < k; i++)
        say("  %-10s %d\n", all[i]->key, all[i]->count);
    for (size_t i = 0; i < k; i++) {
        mix(all[i]->key, strlen(all[i]->key));
        mix_u64((uint64_t)all[i]->count);
        free(all[i]);
    }
    free(all);
    free(t.slots);
}

/* ---- an AA tree (a balanced binary search tree) ------------------------ */

typedef struct aa {
    struct aa *l, *r;
    int level;
    int key;
    char *label;
} aa_t;

static aa_t bottom = { &bottom, &bottom, 0, 0, NULL };

static aa_t *
skew(aa_t *t)
{
    if (t->l->level == t->level && t->level != 0) {
        aa_t *l = t->l;
        t->l = l->r;
        l->r = t;
        return l;
    }
    return t;
}

static aa_t *
split(aa_t *t)
{
    if (t->r->r->level == t->level && t->level != 0) {
        aa_t *r = t->r;
        t->r = r->l;
        r->l = t;
        r->level++;
        return r;
    }
    return t;
}

static aa_t *
aa_insert(aa_t *t, int key)
{
    if (t == &bottom) {
        aa_t *n = xmalloc(sizeof(*n));
        char buf[32];
        snprintf(buf, sizeof(buf), "node-%d", key);
        *n = (aa_t){ &bottom, &bottom, 1, key, strdup(buf) };
        return n;
    }
    if (key < t->key)
        t->l = aa_insert(t->l, key);
    else if (key > t->key)
        t->r = aa_insert(t->r, key);
    else
        return t;
    return split(skew(t));
}

static int
aa_height(const aa_t *t)
{
    if (t == &bottom)
        return 0;
    int a = aa_height(t->l), b = aa_height(t->r);
    return 1 + (a > b ? a : b);
}

static void
aa_walk(aa_t *t, uint64_t *acc, int *n)
{
    if (t == &bottom)
        return;
    aa_walk(t->l, acc, n);
    *acc = *acc * 31 + (uint64_t)t->key + strlen(t->label);
    (*n)++;
    aa_walk(t->r, acc, n);
    free(t->label);
    free(t);
}

static void
test_tree(void)
{
    aa_t *root = &bottom;
    for (int i = 0; i < 100000; i++)
        root = aa_insert(root, (int)(rng() % 1000000));
    int h = aa_height(root), n = 0;
    uint64_t acc = 0;
    aa_walk(root, &acc, &n);
    say("tree %d nodes, height %d, walk %016" PRIx64 "\n", n, h, acc);
}

/* ---- matrices ---------------------------------------------------------- */

static void
test_matrix(void)
{
    enum { N = 96 };
    double *a = xmalloc(N * N * sizeof(double));
    double *b = xmalloc(N * N * sizeof(double));
    double *c = calloc(N * N, sizeof(double));
    for (int i = 0; i < N * N; i++) {
        a[i] = (double)(i % 17) / 8.0 - 1.0;
        b[i] = sin(i * 0.01);
    }
    for (int i = 0; i < N; i++)
        for (int k = 0; k < N; k++)
            for (int j = 0; j < N; j++)
                c[i * N + j] += a[i * N + k] * b[k * N + j];
    double trace = 0, norm = 0;
    for (int i = 0; i < N; i++)
        trace += c[i * N + i];
    for (int i = 0; i < N * N; i++)
        norm += c[i] * c[i];
    say("matrix trace %.6f norm %.6f\n", trace, sqrt(norm));
    free(a);
    free(b);
    free(c);
}

/* ---- a small stack machine --------------------------------------------- */

enum op { PUSH, ADD, SUB, MUL, DUP, SWAP, JNZ, DEC, POP, HALT };

static long
vm_run(const int *code, long *steps)
{
    long stack[64];
    int sp = 0, pc = 0;
    for (*steps = 0;; (*steps)++) {
        switch (code[pc++]) {
        case PUSH: stack[sp++] = code[pc++]; break;
        case ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case SUB: sp--; stack[sp - 1] -= stack[sp]; break;
        case MUL: sp--; stack[sp - 1] = (stack[sp - 1] * stack[sp]) % 1000000007; break;
        case DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case SWAP: { long t = stack[sp - 1]; stack[sp - 1] = stack[sp - 2]; stack[sp - 2] = t; break; }
        case JNZ: { int to = code[pc++]; if (stack[sp - 1] != 0) pc = to; break; }
        case DEC: stack[sp - 1]--; break;
        case POP: sp--; break;
        case HALT: return stack[sp - 1];
        }
    }
}

static void
test_vm(void)
{
    /* acc = 1; for (n = 200000; n; n--) acc = acc * 3 + n (mod p) */
    static const int code[] = {
        PUSH, 1, PUSH, 200000,
        /* 4: */ SWAP, PUSH, 3, MUL, SWAP, DUP, PUSH, 0, SWAP, SUB, SWAP,
        /* 15: stack acc, -n, n */ DEC, SWAP, PUSH, -1, MUL, /* acc, n-1, n */
        SWAP, /* acc, n, n-1 */ PUSH, 0, ADD, SWAP, /* acc n-1 n */
        POP, /* acc n-1 */ SWAP, PUSH, 1, ADD, SWAP, JNZ, 4, POP, HALT,
    };
    long steps;
    long v = vm_run(code, &steps);
    say("vm result %ld after %ld steps\n", v, steps);
}

/* ---- strings ----------------------------------------------------------- */

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_strings(void)
{
    enum { N = 50000 };
    char **v = xmalloc(N * sizeof(*v));
    for (int i = 0; i < N; i++) {
        size_t len = 4 + rng() % 40;
        v[i] = xmalloc(len + 1);
        for (size_t k = 0; k < len; k++)
            v[i][k] = (char)('a' + rng() % 26);
        v[i][len] = '\0';
    }
    qsort(v, N, sizeof(*v), cmp_str);
    size_t total = 0;
    char *joined = NULL;
    for (int i = 0; i < N; i += 50) {
        size_t add = strlen(v[i]);
        joined = realloc(joined, total + add + 2);
        memcpy(joined + total, v[i], add);
        total += add;
        joined[total++] = ',';
        joined[total] = '\0';
    }
    mix(joined, total);
    say("strings first %s last %s joined %zu bytes\n", v[0], v[N - 1], total);
    for (int i = 0; i < N; i++)
        free(v[i]);
    free(v);
    free(joined);
}

int
main(void)
{
    test_eval();
    test_table();
    test_tree();
    test_matrix();
    test_vm();
    test_strings();
    printf("digest %016" PRIx64 "\n", digest);
    return 0;
}
