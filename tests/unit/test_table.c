/*
 * test_table.c - the side table (tracer/table.c) against a model.
 *
 * The table's code is compiled into this test (its arena is malloc), so
 * its operations are tried directly, not through the hooks:
 *
 * test_model: random inserts, removes and look-ups of blocks in dense
 *   regions (every 16 bytes: groups fill up, deletes leave deleted slots,
 *   segments rehash, grow and shrink) and in sparse ones, checked against
 *   a plain array of what is live: every record comes back with the
 *   fields it went in with, from remove, get, peek, each and after
 *   repair; the count matches.
 * test_fill_drain: a region filled at every 8 bytes, emptied, filled
 *   again: the table gives its memory back as it empties.
 * test_limits: a site slot past 28 bits is refused (the caller drops the
 *   block); find_containing finds a block from an inner address.
 * test_peek_racing: a reader thread peeks at records that stay live while
 *   the owner churns others in the same segments: it always finds them,
 *   never a torn copy; once with the readers count (ms_table_peek), once
 *   with the reader's own slot (ms_table_peek_held).
 * test_settle: a segment made less than SETTLE_MS ago shrinks only once
 *   empty; later it does, and one that shrank grows back in one step
 *   while the wave is recent.
 * test_held: while a reader's slot names the table, the owner's reap
 *   keeps what its resizes retired; once the slot is empty it frees them.
 * test_near: two regions that share a slot of the owner's near regions,
 *   filled and emptied in turn (each resized while the other is there):
 *   the slot always names its region's current segment, and every record
 *   is found, by the owner and by a reader.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

#include "../../tracer/table.c"
#include "no_exit_report.h"
#include "run_one.h"

/* The arena of the table's own memory: malloc here. */
void *ms_tmalloc(size_t n) { return malloc(n); }
void *ms_tcalloc(size_t n) { return calloc(1, n); }
void *ms_trealloc(void *p, size_t n) { return realloc(p, n); }
void ms_tfree(void *p) { free(p); }

/* The clock (ms_clock_ms, trace.c's): the real one in ms, or one the
 * test sets. */
int ms_ticking;
uint32_t ms_tick_ms;
static int clock_fake;
static uint32_t clock_ms;
uint32_t
ms_clock_ms_now(void)
{
    if (clock_fake)
        return clock_ms;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* The readers' slots (remote.c walks the thread registry's). */
static ms_table_t *held_slot[2];
int
ms_table_held(const ms_table_t *t)
{
    for (int i = 0; i < 2; i++)
        if (__atomic_load_n(&held_slot[i], __ATOMIC_ACQUIRE) == t)
            return 1;
    return 0;
}

#define BASE   ((uintptr_t)0x7f1234000000ull)   /* 16 KiB aligned */
#define DENSE  4                                /* regions, every 16 bytes */
#define SPARSE 64                               /* regions, a few blocks */
#define NKEYS  (DENSE * 1024 + SPARSE * 8)

static uintptr_t keys[NKEYS];
static ms_rec_t model[NKEYS];
static int live[NKEYS];

static uint64_t rng = 88172645463325252ull;
static uint64_t
rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void
make_keys(void)
{
    int n = 0;
    for (int r = 0; r < DENSE; r++)
        for (int i = 0; i < 1024; i++)
            keys[n++] = BASE + ((uintptr_t)r << MS_REGION_BITS) + (uintptr_t)i * 16;
    for (int r = 0; r < SPARSE; r++)
        for (int i = 0; i < 8; i++)
            keys[n++] = BASE + ((uintptr_t)(DENSE + 3 * r) << MS_REGION_BITS) +
                (uintptr_t)(i * 1999 % 2048) * 8;
    memset(live, 0, sizeof(live));
}

/* Any record; one in 32 too large or of a site too far for a narrow
 * slot, so that segments turn wide and back. */
static ms_rec_t
random_rec(uintptr_t p)
{
    uint64_t x = rnd(), y = rnd();
    int wide = (x >> 58) == 0;
    ms_rec_t r = { .ptr = p,
        .size = x & (wide ? (1ull << 40) - 1 : MS_TSLOT_NARROW_SIZE_MAX),
        .time_ms = (uint32_t)y, .site = (uint32_t)(y >> 32) &
            (wide && (y & 1) ? MS_TSLOT_SITE_MAX : MS_TSLOT_NARROW_SITE_MAX),
        .usable = (uint8_t)(x >> 40), .kind = (uint8_t)((x >> 48) % MS_KIND_COUNT),
        .flags = (uint8_t)((x >> 56) & 3) };
    return r;
}

static int
same(const ms_rec_t *a, const ms_rec_t *b)
{
    return a->ptr == b->ptr && a->size == b->size && a->time_ms == b->time_ms &&
        a->site == b->site && a->usable == b->usable && a->kind == b->kind &&
        a->flags == b->flags;
}

static int
key_index(uintptr_t p)
{
    for (int i = 0; i < NKEYS; i++)
        if (keys[i] == p)
            return i;
    return -1;
}

typedef struct {
    int seen[NKEYS];
    int bad, n;
} each_t;

static void
each_restart(void *arg)
{
    each_t *e = arg;
    memset(e->seen, 0, sizeof(e->seen));
    e->bad = e->n = 0;
}

static int
each_one(void *arg, const ms_rec_t *r)
{
    each_t *e = arg;
    int i = key_index(r->ptr);
    if (i < 0 || !live[i] || e->seen[i] || !same(r, &model[i]))
        e->bad++;
    else
        e->seen[i] = 1;
    e->n++;
    return 0;
}

/* Each segment's count of wide-only records, and its form, against its
 * records. */
static void
check_forms(ms_table_t *t)
{
    for (uint64_t k = 0; t->dir != NULL && k <= t->dir->mask; k++) {
        ms_tseg_t *s = t->dir->e[k].seg;
        if (t->dir->e[k].region == 0)
            continue;
        uint32_t n = 0;
        for (uint32_t i = 0; i < s->cap; i++) {
            ms_rec_t r;
            if (s->ctrl[i] >= MS_CTRL_EMPTY)
                continue;
            ms_tseg_get(s, i, 0, &r);
            n += !ms_rec_narrow(&r);
        }
        ck_assert_uint_eq(s->nwide, n);
        ck_assert(n == 0 || s->stride == MS_TSLOT_WIDE);
    }
}

/* The whole table against the model. */
static void
check_all(ms_table_t *t)
{
    check_forms(t);
    uint64_t n = 0;
    for (int i = 0; i < NKEYS; i++) {
        ms_rec_t r, q;
        int g = ms_table_get(t, keys[i], &r);
        int k = ms_table_peek(t, keys[i], &q);
        ck_assert_int_eq(g, live[i] ? 0 : -1);
        ck_assert_int_eq(k, live[i] ? 0 : -1);
        if (live[i]) {
            ck_assert(same(&r, &model[i]));
            ck_assert(same(&q, &model[i]));
            n++;
        }
    }
    ck_assert_uint_eq(t->count, n);
    static each_t e;
    ms_table_each(t, each_restart, each_one, &e);
    ck_assert_int_eq(e.bad, 0);
    ck_assert_uint_eq((uint64_t)e.n, n);
}

START_TEST(test_model)
{
    static ms_table_t t;
    memset(&t, 0, sizeof(t));
    make_keys();
    for (int step = 0; step < 400000; step++) {
        uint64_t x = rnd();
        /* the dense keys most of the time, so their segments fill up */
        int i = (x & 3) ? (int)((x >> 8) % (DENSE * 1024)) :
            (int)((x >> 8) % NKEYS);
        /* phases that fill and that drain, so segments grow and shrink */
        int fill = (step / 50000) % 2 == 0;
        if (!live[i] && (rnd() % 4 != 0) == fill) {
            model[i] = random_rec(keys[i]);
            ck_assert_int_eq(ms_table_insert(&t, &model[i]), 0);
            live[i] = 1;
        } else if (live[i]) {
            ms_rec_t r;
            ck_assert_int_eq(ms_table_remove(&t, keys[i], &r), 0);
            ck_assert(same(&r, &model[i]));
            live[i] = 0;
            ck_assert_int_eq(ms_table_remove(&t, keys[i], &r), -1);
        }
        if (step % 997 == 0 && (x >> 60) == 0) {
            /* a flag added in place, as realloc of a named block does */
            int j = (int)((x >> 20) % NKEYS);
            ck_assert_int_eq(ms_table_set_flags(&t, keys[j], MS_REC_VARIABLE),
                live[j] ? 0 : -1);
            if (live[j])
                model[j].flags |= MS_REC_VARIABLE;
        }
        if (step % 50000 == 49999)
            check_all(&t);
        if (step % 4096 == 0)
            ms_table_reap(&t);
    }
    check_all(&t);
    ms_table_repair(&t);
    check_all(&t);
}
END_TEST

START_TEST(test_fill_drain)
{
    static ms_table_t t;
    memset(&t, 0, sizeof(t));
    uintptr_t base = BASE + ((uintptr_t)1000 << MS_REGION_BITS);
    uint64_t empty_bytes = 0;
    /* a clock of the test's: each segment has settled by the next free
     * (the real one made the rounds end apart on a busy machine) */
    clock_fake = 1;
    clock_ms = 1000;
    for (int round = 0; round < 2; round++) {
        for (uintptr_t off = 0; off < (1u << MS_REGION_BITS); off += 8) {
            ms_rec_t r = { .ptr = base + off, .size = off, .site = (uint32_t)off,
                .usable = 7 };
            ck_assert_int_eq(ms_table_insert(&t, &r), 0);
        }
        ck_assert_uint_eq(t.count, 2048);
        ms_table_reap(&t);
        uint64_t full = ms_table_bytes(&t);
        ck_assert_uint_ge(full, 2048 * MS_TSLOT_NARROW);
        for (uintptr_t off = 0; off < (1u << MS_REGION_BITS); off += 8) {
            ms_rec_t r;
            clock_ms += SETTLE_MS;
            ck_assert_int_eq(ms_table_remove(&t, base + off, &r), 0);
            ck_assert_uint_eq(r.size, off);
            ck_assert_uint_eq(r.site, off);
            ck_assert_uint_eq(r.ptr, base + off);
        }
        ck_assert_uint_eq(t.count, 0);
        ms_table_reap(&t);
        /* one empty segment of the least size and the directory are left */
        ck_assert_uint_lt(ms_table_bytes(&t), full / 16);
        if (round == 0)
            empty_bytes = ms_table_bytes(&t);
        else
            ck_assert_uint_eq(ms_table_bytes(&t), empty_bytes);
    }
}
END_TEST

START_TEST(test_limits)
{
    static ms_table_t t;
    memset(&t, 0, sizeof(t));
    ms_rec_t r = { .ptr = BASE + 64, .size = 100, .site = MS_TSLOT_SITE_MAX + 1 };
    ck_assert_int_eq(ms_table_insert(&t, &r), -1);
    ck_assert_uint_eq(t.count, 0);
    r.site = MS_TSLOT_SITE_MAX;
    ck_assert_int_eq(ms_table_insert(&t, &r), 0);
    ms_rec_t q;
    ck_assert_int_eq(ms_table_find_containing(&t, BASE + 64 + 50, &q), 0);
    ck_assert_uint_eq(q.ptr, BASE + 64);
    ck_assert_uint_eq(q.site, MS_TSLOT_SITE_MAX);
    ck_assert_int_eq(ms_table_find_containing(&t, BASE + 64 + 100, &q), -1);
}
END_TEST

/* The reader's side of test_peek_racing. */
static ms_table_t race_t;
static int race_stop;
static int race_bad, race_peeks;

/* arg: NULL to peek with the readers count, else the reader's slot */
static void *
reader(void *arg)
{
    ms_table_t **held = arg;
    while (!__atomic_load_n(&race_stop, __ATOMIC_ACQUIRE)) {
        /* the stable keys: every 8th dense key */
        for (int i = 0; i < DENSE * 1024; i += 8) {
            ms_rec_t r;
            int rc = held ? ms_table_peek_held(&race_t, keys[i], &r, held) :
                ms_table_peek(&race_t, keys[i], &r);
            if (rc != 0 || !same(&r, &model[i]))
                __atomic_add_fetch(&race_bad, 1, __ATOMIC_RELAXED);
            __atomic_add_fetch(&race_peeks, 1, __ATOMIC_RELAXED);
        }
    }
    return NULL;
}

START_TEST(test_peek_racing)
{
    memset(&race_t, 0, sizeof(race_t));
    race_stop = race_bad = race_peeks = 0;
    memset(live, 0, sizeof(live));
    make_keys();
    for (int i = 0; i < DENSE * 1024; i += 8) {
        model[i] = random_rec(keys[i]);
        ck_assert_int_eq(ms_table_insert(&race_t, &model[i]), 0);
        live[i] = 1;
    }
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, reader,
        _i == 1 ? (void *)&held_slot[0] : NULL), 0);
    for (int step = 0; step < 2000000 ||
        __atomic_load_n(&race_peeks, __ATOMIC_RELAXED) < 20000; step++) {
        int i = (int)(rnd() % (DENSE * 1024));
        if (i % 8 == 0)
            continue;
        if (!live[i]) {
            ms_rec_t r = random_rec(keys[i]);
            ck_assert_int_eq(ms_table_insert(&race_t, &r), 0);
        } else {
            ms_rec_t r;
            ck_assert_int_eq(ms_table_remove(&race_t, keys[i], &r), 0);
        }
        live[i] = !live[i];
        if (step % 1024 == 0)
            ms_table_reap(&race_t);
    }
    __atomic_store_n(&race_stop, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    ck_assert_int_eq(race_bad, 0);
    ck_assert_int_gt(race_peeks, 0);
    ck_assert_ptr_null(held_slot[0]);      /* left empty after each peek */
}
END_TEST

/* The capacity of the segment of region base. */
static uint32_t
seg_cap_at(ms_table_t *t, uintptr_t base)
{
    return ms_table_seg_of(t, base)->cap;
}

/* The near slot of region's addresses names the segment the directory
 * has for it, or another region. */
static void
near_current(ms_table_t *t, uintptr_t region)
{
    ms_tdirent_t *n = &t->near[region % MS_TABLE_NEAR];
    if (n->region == region)
        ck_assert_ptr_eq(n->seg, dir_find(t->dir, region)->seg);
}

START_TEST(test_near)
{
    static ms_table_t t;
    memset(&t, 0, sizeof(t));
    uintptr_t ra = (BASE >> MS_REGION_BITS) + 5000, rb = ra + MS_TABLE_NEAR;
    uintptr_t base[2] = { ra << MS_REGION_BITS, rb << MS_REGION_BITS };
    for (uintptr_t off = 0; off < 1024 * 16; off += 16)
        for (int k = 0; k < 2; k++) {
            ms_rec_t r = { .ptr = base[k] + off, .size = off + (uintptr_t)k,
                .site = 1 };
            ck_assert_int_eq(ms_table_insert(&t, &r), 0);
            near_current(&t, ra);
            near_current(&t, rb);
        }
    ck_assert_uint_eq(t.count, 2048);
    for (uintptr_t off = 0; off < 1024 * 16; off += 16)
        for (int k = 0; k < 2; k++) {
            ms_rec_t r;
            ck_assert_int_eq(ms_table_peek(&t, base[k] + off, &r), 0);
            ck_assert_uint_eq(r.size, off + (uintptr_t)k);
            ck_assert_int_eq(ms_table_get(&t, base[k] + off, &r), 0);
            ck_assert_uint_eq(r.size, off + (uintptr_t)k);
        }
    for (uintptr_t off = 0; off < 1024 * 16; off += 16)
        for (int k = 0; k < 2; k++) {
            ms_rec_t r;
            ck_assert_int_eq(ms_table_remove(&t, base[k] + off, &r), 0);
            ck_assert_uint_eq(r.size, off + (uintptr_t)k);
            near_current(&t, ra);
            near_current(&t, rb);
        }
    ck_assert_uint_eq(t.count, 0);
    ms_rec_t r;
    ck_assert_int_eq(ms_table_get(&t, base[0], &r), -1);
    /* after a repair the slots name the new segments */
    r = (ms_rec_t){ .ptr = base[1] + 64, .size = 7, .site = 1 };
    ck_assert_int_eq(ms_table_insert(&t, &r), 0);
    ms_table_repair(&t);
    near_current(&t, rb);
    ck_assert_int_eq(ms_table_get(&t, base[1] + 64, &r), 0);
    ck_assert_uint_eq(r.size, 7);
    ck_assert_int_eq(ms_table_remove(&t, base[1] + 64, &r), 0);
    ck_assert_int_eq(ms_table_get(&t, base[1] + 64, &r), -1);
}
END_TEST

START_TEST(test_settle)
{
    static ms_table_t t;
    memset(&t, 0, sizeof(t));
    clock_fake = 1;
    clock_ms = 1000;
    uintptr_t base = BASE + ((uintptr_t)3000 << MS_REGION_BITS);
    for (uintptr_t off = 0; off < 1024 * 16; off += 16) {
        ms_rec_t r = { .ptr = base + off, .size = 16, .site = 1 };
        ck_assert_int_eq(ms_table_insert(&t, &r), 0);
    }
    uint32_t full = seg_cap_at(&t, base);
    ck_assert_uint_ge(full, 1024);
    /* down to 64 records at once: far below the shrink point, kept */
    ms_rec_t r;
    for (uintptr_t off = 64 * 16; off < 1024 * 16; off += 16)
        ck_assert_int_eq(ms_table_remove(&t, base + off, &r), 0);
    ck_assert_uint_eq(seg_cap_at(&t, base), full);
    /* later, the next free shrinks it */
    clock_ms += SETTLE_MS;
    ck_assert_int_eq(ms_table_remove(&t, base + 63 * 16, &r), 0);
    uint32_t small = seg_cap_at(&t, base);
    ck_assert_uint_lt(small, full / 4);
    /* the wave comes back at once: one grow to the size it had */
    uint32_t grows = 0, cap = small;
    for (uintptr_t off = 63 * 16; off < 1024 * 16; off += 16) {
        ms_rec_t n = { .ptr = base + off, .size = 16, .site = 1 };
        ck_assert_int_eq(ms_table_insert(&t, &n), 0);
        if (seg_cap_at(&t, base) != cap) {
            cap = seg_cap_at(&t, base);
            grows++;
        }
    }
    ck_assert_uint_eq(grows, 1);
    ck_assert_uint_eq(cap, full);
    /* emptied, it shrinks at once however young */
    for (uintptr_t off = 0; off < 1024 * 16; off += 16)
        ck_assert_int_eq(ms_table_remove(&t, base + off, &r), 0);
    ck_assert_uint_eq(seg_cap_at(&t, base), MS_TABLE_SEG_MIN);
    clock_fake = 0;
}
END_TEST

/* A region's segment is narrow (12-byte slots) until a record that needs
 * the wide form comes in, turns wide with every record kept, and back to
 * narrow when the last such record goes. */
START_TEST(test_forms)
{
    static ms_table_t t;
    memset(&t, 0, sizeof(t));
    clock_fake = 1;
    clock_ms = 1000;
    uintptr_t base = BASE + ((uintptr_t)5000 << MS_REGION_BITS);
    for (uintptr_t off = 0; off < 100 * 32; off += 32) {
        ms_rec_t r = { .ptr = base + off, .size = MS_TSLOT_NARROW_SIZE_MAX,
            .site = MS_TSLOT_NARROW_SITE_MAX, .time_ms = (uint32_t)off,
            .kind = 15, .usable = 255, .flags = 3 };
        ck_assert_int_eq(ms_table_insert(&t, &r), 0);
    }
    ck_assert_uint_eq(ms_table_seg_of(&t, base)->stride, MS_TSLOT_NARROW);
    uint64_t narrow = ms_table_bytes(&t);
    uint32_t cap = seg_cap_at(&t, base);
    /* a large block: the segment turns wide at its size */
    ms_rec_t big = { .ptr = base + 16, .size = (uint64_t)1 << 39, .site = 3,
        .time_ms = 77, .kind = 2 };
    ck_assert_int_eq(ms_table_insert(&t, &big), 0);
    ck_assert_uint_eq(ms_table_seg_of(&t, base)->stride, MS_TSLOT_WIDE);
    ck_assert_uint_eq(seg_cap_at(&t, base), cap);
    ms_rec_t r;
    for (uintptr_t off = 0; off < 100 * 32; off += 32) {
        ck_assert_int_eq(ms_table_get(&t, base + off, &r), 0);
        ck_assert_uint_eq(r.size, MS_TSLOT_NARROW_SIZE_MAX);
        ck_assert_uint_eq(r.site, MS_TSLOT_NARROW_SITE_MAX);
        ck_assert_uint_eq(r.time_ms, off);
        ck_assert_uint_eq(r.kind, 15);
        ck_assert_uint_eq(r.usable, 255);
        ck_assert_uint_eq(r.flags, 3);
    }
    ck_assert_int_eq(ms_table_get(&t, base + 16, &r), 0);
    ck_assert_uint_eq(r.size, (uint64_t)1 << 39);
    /* a site past the narrow form's, in a wide segment: as it is */
    ms_rec_t far = { .ptr = base + 48, .size = 8, .site = MS_TSLOT_SITE_MAX };
    ck_assert_int_eq(ms_table_insert(&t, &far), 0);
    ck_assert_uint_eq(ms_table_seg_of(&t, base)->nwide, 2);
    ck_assert_int_eq(ms_table_remove(&t, base + 48, &r), 0);
    ck_assert_uint_eq(r.site, MS_TSLOT_SITE_MAX);
    ck_assert_uint_eq(ms_table_seg_of(&t, base)->stride, MS_TSLOT_WIDE);
    ck_assert_int_eq(ms_table_remove(&t, base + 16, &r), 0);
    ck_assert_uint_eq(r.time_ms, 77);
    /* the last wide record gone: narrow at once, every record kept */
    ck_assert_uint_eq(ms_table_seg_of(&t, base)->stride, MS_TSLOT_NARROW);
    ck_assert_uint_eq(seg_cap_at(&t, base), cap);
    ck_assert_int_eq(ms_table_get(&t, base + 32, &r), 0);
    ck_assert_uint_eq(r.time_ms, 32);
    ck_assert_uint_eq(r.site, MS_TSLOT_NARROW_SITE_MAX);
    /* and grows narrow */
    for (uintptr_t off = 8; off < 2048 * 8; off += 32) {
        ms_rec_t n = { .ptr = base + off, .size = off, .site = 9 };
        ck_assert_int_eq(ms_table_insert(&t, &n), 0);
    }
    ck_assert_uint_gt(seg_cap_at(&t, base), cap);
    ck_assert_uint_eq(ms_table_seg_of(&t, base)->stride, MS_TSLOT_NARROW);
    for (uintptr_t off = 0; off < 100 * 32; off += 32) {
        ck_assert_int_eq(ms_table_remove(&t, base + off, &r), 0);
        ck_assert_uint_eq(r.time_ms, off);
        ck_assert_uint_eq(r.flags, 3);
    }
    for (uintptr_t off = 8; off < 2048 * 8; off += 32) {
        ck_assert_int_eq(ms_table_remove(&t, base + off, &r), 0);
        ck_assert_uint_eq(r.size, off);
    }
    ck_assert_uint_eq(t.count, 0);
    ms_table_reap(&t);
    ck_assert_uint_le(ms_table_bytes(&t), narrow);
    clock_fake = 0;
}
END_TEST

START_TEST(test_held)
{
    static ms_table_t t;
    memset(&t, 0, sizeof(t));
    uintptr_t base = BASE + ((uintptr_t)2000 << MS_REGION_BITS);
    __atomic_store_n(&held_slot[1], &t, __ATOMIC_SEQ_CST);
    /* a region filled: its segment grows, each resize retires the old */
    for (uintptr_t off = 0; off < 2048 * 8; off += 8) {
        ms_rec_t r = { .ptr = base + off, .size = 8, .site = 1 };
        ck_assert_int_eq(ms_table_insert(&t, &r), 0);
    }
    ms_table_reap(&t);
    uint32_t kept = t.nretired;
    ck_assert_uint_gt(kept, 0);
    uint64_t bytes = ms_table_bytes(&t);
    ms_rec_t q;
    ck_assert_int_eq(ms_table_peek(&t, base + 800, &q), 0);
    ck_assert_uint_eq(t.nretired, kept);
    __atomic_store_n(&held_slot[1], NULL, __ATOMIC_SEQ_CST);
    ms_table_reap(&t);
    ck_assert_uint_eq(t.nretired, 0);
    ck_assert_uint_lt(ms_table_bytes(&t), bytes);
    ck_assert_int_eq(ms_table_peek_held(&t, base + 800, &q, &held_slot[1]), 0);
    ck_assert_uint_eq(q.ptr, base + 800);
    ck_assert_ptr_null(held_slot[1]);
}
END_TEST

static Suite *
table_suite(void)
{
    Suite *s = suite_create("table");
    TCase *tc = tcase_create("table");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_model);
    tcase_add_test(tc, test_fill_drain);
    tcase_add_test(tc, test_limits);
    tcase_add_loop_test(tc, test_peek_racing, 0, 2);
    tcase_add_test(tc, test_settle);
    tcase_add_test(tc, test_held);
    tcase_add_test(tc, test_forms);
    tcase_add_test(tc, test_near);
    suite_add_tcase(s, tc);
    return s;
}

int
main(int argc, char **argv)
{
    (void)argc;
    no_exit_report(argv);
    return ms_run_one(table_suite());
}
