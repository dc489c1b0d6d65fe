/*
 * test_sites.c - the lifetime buckets of a site's free side
 * (tracer/sites.c): 16-bit counts that move into a 64-bit carry.
 *
 * The sites code is compiled into this test (its arena is malloc), so a
 * free side is counted and read directly:
 *
 * test_carry_exact: 5 * MS_LIFE_CARRY + 7 frees into one bucket and a few
 *   into another read back exactly, and the frees total is their sum.
 * test_owner_stopped: an owner stopped inside a carry (as a thread that
 *   fork did not copy leaves it), at each of its two steps, leaves a
 *   bucket that still reads its exact count: the mark tells whether the
 *   carry holds it yet. An owner stopped before the carry stored it must
 *   not read MS_LIFE_CARRY short, nor one stopped after it read twice.
 * test_reader_racing: a reader thread reads a bucket while the owner
 *   counts through many carries: every read lies between the counts
 *   before and after it (one more: the free being counted), never
 *   MS_LIFE_CARRY off.
 * test_slots_chunks: 5000 slots of distinct keys come back by key, by
 *   slot (the owner's directory and any thread's chunk walk agree), and
 *   lie in chunks of 16, 32, 64, ... slots: a thread of one site keeps
 *   one chunk of 16.
 * test_free_sides_own_lines: the free sides two threads make, interleaved,
 *   never share a 64-byte line, while each thread's lie side by side in
 *   blocks that double from one side to FSIDE_MOST (16).
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../tracer/sites.c"
#include "no_exit_report.h"
#include "run_one.h"

void *ms_tmalloc(size_t n) { return malloc(n); }
void *ms_tcalloc(size_t n) { return calloc(1, n); }
void *ms_trealloc(void *p, size_t n) { return realloc(p, n); }
void ms_tfree(void *p) { free(p); }
/* The library's line blocks (arena.c): whole cache lines, aligned to one,
 * zeroed. */
void *
ms_tcalloc_line(size_t n)
{
    n = (n + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, n ? n : 64);
    if (p != NULL)
        memset(p, 0, n);
    return p;
}
static int dropped;
void ms_dropped(void) { dropped++; }
/* The calling thread's state (threads.c's): set by the test. */
__thread ms_tls_t ms_tls MS_TLS;

static uint64_t
bucket(const ms_sitefree_t *f, int b)
{
    ms_sitefree_view_t v;
    ms_sitefree_read(f, &v);
    return v.life[b];
}

START_TEST(test_carry_exact)
{
    ms_sitefree_t *f = calloc(1, sizeof(*f));
    ck_assert_ptr_nonnull(f);
    uint64_t n = 5ull * MS_LIFE_CARRY + 7;
    for (uint64_t i = 0; i < n; i++)
        ms_sitefree_count(f, 3);
    for (int i = 0; i < 11; i++)
        ms_sitefree_count(f, 0);
    ms_sitefree_view_t v;
    ms_sitefree_read(f, &v);
    ck_assert_uint_eq(v.life[3], n);
    ck_assert_uint_eq(v.life[0], 11);
    ck_assert_uint_eq(v.frees, n + 11);
    ck_assert_int_eq(dropped, 0);
    free(f->ext);
    free(f);
}
END_TEST

START_TEST(test_owner_stopped)
{
    for (int carries = 0; carries < 3; carries++) {
        ms_sitefree_t *f = calloc(1, sizeof(*f));
        ck_assert_ptr_nonnull(f);
        uint64_t n = (uint64_t)(carries + 1) * MS_LIFE_CARRY - 1;
        for (uint64_t i = 0; i < n; i++)
            ms_sitefree_count(f, 5);
        ck_assert_uint_eq(bucket(f, 5), n);
        /* the next free carries: redo its steps by hand, reading between */
        ms_siteext_t *x = ms_sitefree_ext(f);
        ck_assert_ptr_nonnull(x);
        uint64_t c = x->carry[5];
        unsigned parity = (unsigned)(c / MS_LIFE_CARRY) & 1;
        f->life[5] = (uint16_t)(MS_LIFE_CARRY | parity << 14);
        ck_assert_uint_eq(bucket(f, 5), n + 1);     /* marked, carry old */
        x->carry[5] = c + MS_LIFE_CARRY;
        ck_assert_uint_eq(bucket(f, 5), n + 1);     /* marked, carry new */
        f->life[5] = 0;
        ck_assert_uint_eq(bucket(f, 5), n + 1);
        ms_sitefree_count(f, 5);
        ck_assert_uint_eq(bucket(f, 5), n + 2);
        free(f->ext);
        free(f);
    }
}
END_TEST

static ms_sitefree_t *racing;
static uint64_t counted;   /* the owner's count, after each free */
static volatile int racing_done;

static void *
reader(void *arg)
{
    uint64_t *bad = arg;
    while (!racing_done) {
        uint64_t before = __atomic_load_n(&counted, __ATOMIC_ACQUIRE);
        uint64_t got = bucket(racing, 1);
        uint64_t after = __atomic_load_n(&counted, __ATOMIC_ACQUIRE);
        /* the free being counted may show before its count is stored */
        if (got < before || got > after + 1)
            (*bad)++;
    }
    return NULL;
}

START_TEST(test_reader_racing)
{
    racing = calloc(1, sizeof(*racing));
    ck_assert_ptr_nonnull(racing);
    uint64_t bad = 0;
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, reader, &bad), 0);
    uint64_t n = 40ull * MS_LIFE_CARRY;
    for (uint64_t i = 1; i <= n; i++) {
        ms_sitefree_count(racing, 1);
        __atomic_store_n(&counted, i, __ATOMIC_RELEASE);
    }
    racing_done = 1;
    pthread_join(th, NULL);
    ck_assert_uint_eq(bad, 0);
    ck_assert_uint_eq(bucket(racing, 1), n);
    free(racing->ext);
    free(racing);
}
END_TEST

START_TEST(test_slots_chunks)
{
    static ms_sites_t one;
    memset(&one, 0, sizeof(one));
    ck_assert_uint_eq(ms_sites_slot(&one, 7, 0, 0), 0);
    ck_assert_ptr_nonnull(one.head);
    ck_assert_ptr_null(one.head->next);
    ck_assert_uint_eq(one.head->n, 1);
    ck_assert_uint_le(one.index_mask + 1, 2 * MS_SITE_FIRST);

    static ms_sites_t s;
    memset(&s, 0, sizeof(s));
    enum { N = 5000 };
    for (uint32_t i = 0; i < N; i++)
        ck_assert_uint_eq(ms_sites_slot(&s, 100 + i, i % 3, 0), i);
    for (uint32_t i = 0; i < N; i++) {
        ck_assert_uint_eq(ms_sites_slot(&s, 100 + i, i % 3, 0), i);
        ms_sitestat_t *st = ms_sites_at(&s, i);
        ck_assert_uint_eq(st->stack, 100 + i);
        ck_assert_uint_eq(st->slot, i);
        ck_assert_uint_eq(ms_sites_stack_of(&s, i), 100 + i);
        ck_assert_uint_eq(ms_sites_task_of(&s, i), i % 3);
    }
    uint32_t total = 0, k = 0;
    for (ms_sitechunk_t *c = s.head; c != NULL; c = c->next, k++) {
        ck_assert_ptr_eq(c->s, s.dir[k]);
        if (c->next != NULL)
            ck_assert_uint_eq(c->n, MS_SITE_FIRST << k);
        for (uint32_t j = 0; j < c->n; j++)
            ck_assert_uint_eq(c->s[j].slot, total + j);
        total += c->n;
        /* the owner writes its slots at each allocation: lines of their
         * own (no other thread's block in them) */
        ck_assert_uint_eq((uintptr_t)c->s % 64, 0);
    }
    ck_assert_uint_eq(total, N);
    ck_assert_uint_eq(k, ms_sites_chunk(N - 1) + 1);
    ck_assert_int_eq(dropped, 0);
}
END_TEST

/* Free sides are written at each free: two threads' sides never share a
 * cache line, yet each thread's lie packed in its blocks, not one to a
 * line. Without a thread state a side is still made. */
START_TEST(test_free_sides_own_lines)
{
    static ms_thread_t a, b;
    static ms_sites_t s;
    memset(&s, 0, sizeof(s));
    enum { N = 300 };
    static ms_sitefree_t *fa[N], *fb[N];
    for (uint32_t i = 0; i < 2 * N; i++) {
        ms_tls.self = i % 2 ? &b : &a;
        ms_sitestat_t *st = ms_sites_at(&s, ms_sites_slot(&s, 1 + i, 0, 0));
        ck_assert_ptr_null(st->free);
        ms_sitefree_t *f = ms_sites_free(st);
        ck_assert_ptr_nonnull(f);
        ck_assert_ptr_eq(st->free, f);
        ck_assert_ptr_eq(ms_sites_free(st), f);     /* made once */
        ck_assert_uint_eq(f->freed_bytes | f->temporaries, 0);
        f->freed_bytes = i + 1;                     /* no side overlaps */
        (i % 2 ? fb : fa)[i / 2] = f;
    }
    ms_tls.self = NULL;
    for (uint32_t i = 0; i < 2 * N; i++)
        ck_assert_uint_eq((i % 2 ? fb : fa)[i / 2]->freed_bytes, i + 1);
    /* no 64-byte line holds bytes of both threads' sides */
    for (uint32_t i = 0; i < N; i++)
        for (uint32_t j = 0; j < N; j++) {
            uintptr_t x = (uintptr_t)fa[i], y = (uintptr_t)fb[j];
            uintptr_t x0 = x / 64, x1 = (x + sizeof(ms_sitefree_t) - 1) / 64;
            uintptr_t y0 = y / 64, y1 = (y + sizeof(ms_sitefree_t) - 1) / 64;
            ck_assert(x1 < y0 || y1 < x0);
        }
    /* a thread's sides lie side by side in blocks of 1, 2, 4 ... FSIDE_MOST,
     * each block in lines of its own */
    for (uint32_t i = 0, block = 1, at = 0; i < N; i++) {
        if (i == at + block) {
            at = i;
            block = block < FSIDE_MOST ? block * 2 : FSIDE_MOST;
        }
        if (i == at) {
            ck_assert_uint_eq((uintptr_t)fa[i] % 64, 0);
            ck_assert_uint_eq((uintptr_t)fb[i] % 64, 0);
        } else {
            ck_assert_ptr_eq(fa[i], fa[i - 1] + 1);
            ck_assert_ptr_eq(fb[i], fb[i - 1] + 1);
        }
    }
    /* and a hook with no thread state still gets a side */
    ms_sitestat_t *st = ms_sites_at(&s, ms_sites_slot(&s, 9999, 0, 0));
    ck_assert_ptr_nonnull(ms_sites_free(st));
    ck_assert_int_eq(dropped, 0);
}
END_TEST

int
main(int argc, char **argv)
{
    (void)argc;
    no_exit_report(argv);
    Suite *s = suite_create("sites");
    TCase *tc = tcase_create("life");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_carry_exact);
    tcase_add_test(tc, test_owner_stopped);
    tcase_add_test(tc, test_reader_racing);
    tcase_add_test(tc, test_slots_chunks);
    tcase_add_test(tc, test_free_sides_own_lines);
    suite_add_tcase(s, tc);
    return ms_run_one(s);
}
