/*
 * table.c - the side table: one per thread, a directory of 16 KiB address
 * regions, each with a segment of open addressing (table.h), deletion by
 * backward shift (no tombstones, so it never fills up with dead slots). A
 * segment grows by half at 3/4 load and shrinks as it empties, so the
 * table stays near the size of its thread's live set, and a resize copies
 * one region's records only. The directory doubles at 1/2 load; regions
 * stay in it once seen (an empty one keeps a segment of MS_TABLE_SEG_MIN
 * slots).
 *
 * Only the owner writes. Each change is framed by seq (odd while
 * changing); another thread reads with ms_table_peek, which retries until
 * it saw a quiet table. Segments and directories replaced by a resize are
 * kept until no reader is inside the table (its readers count), then freed:
 * at the next resize, or from the owner's tick (ms_table_reap).
 */
#include <string.h>

#include "table.h"

#define DIR_MIN 16u

static int
no_readers(ms_table_t *t)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return __atomic_load_n(&t->readers, __ATOMIC_ACQUIRE) == 0;
}

static void
reader_in(ms_table_t *t)
{
    __atomic_add_fetch(&t->readers, 1, __ATOMIC_ACQ_REL);
}

static void
reader_out(ms_table_t *t)
{
    __atomic_sub_fetch(&t->readers, 1, __ATOMIC_ACQ_REL);
}

static uint64_t
seg_bytes(uint32_t cap)
{
    return sizeof(ms_tseg_t) + (uint64_t)cap * sizeof(ms_rec_t);
}

static uint64_t
dir_bytes(uint64_t n)
{
    return sizeof(ms_tdir_t) + n * sizeof(ms_tdirent_t);
}

void
ms_table_reap(ms_table_t *t)
{
    if (t->nretired == 0 || !no_readers(t))
        return;
    for (uint32_t i = 0; i < t->nretired; i++) {
        t->bytes -= t->retired[i].bytes;
        ms_tfree(t->retired[i].p);
    }
    t->nretired = 0;
}

/* Room to retire one more array; 0, or -1 without memory. */
static int
retire_room(ms_table_t *t)
{
    ms_table_reap(t);
    if (t->nretired < t->capretired)
        return 0;
    uint32_t nc = t->capretired ? t->capretired * 2 : 16;
    struct ms_retired *n = ms_trealloc(t->retired, nc * sizeof(*n));
    if (n == NULL)
        return -1;
    t->retired = n;
    t->capretired = nc;
    return 0;
}

static void
retire(ms_table_t *t, void *p, uint64_t bytes)
{
    t->retired[t->nretired++] = (struct ms_retired){ p, bytes };
}

/* The directory entry of region, or NULL. */
static ms_tdirent_t *
dir_find(ms_tdir_t *d, uintptr_t region)
{
    for (uint64_t i = ms_table_dir_home(region, d->mask);; i = (i + 1) & d->mask) {
        if (d->e[i].region == region)
            return &d->e[i];
        if (d->e[i].region == 0)
            return NULL;
    }
}

static ms_tdirent_t *
dir_slot(ms_tdir_t *d, uintptr_t region)
{
    uint64_t i = ms_table_dir_home(region, d->mask);
    while (d->e[i].region != 0)
        i = (i + 1) & d->mask;
    return &d->e[i];
}

/* A directory with room for one more region; 0 or -1. */
static int
dir_room(ms_table_t *t)
{
    ms_tdir_t *old = t->dir;
    if (old != NULL && (old->count + 1) * 2 <= old->mask + 1)
        return 0;
    uint64_t n = old ? (old->mask + 1) * 2 : DIR_MIN;
    if (old != NULL && retire_room(t) != 0)
        return -1;
    ms_tdir_t *d = ms_tcalloc(dir_bytes(n));
    if (d == NULL)
        return -1;
    d->mask = n - 1;
    for (uint64_t i = 0; old != NULL && i <= old->mask; i++)
        if (old->e[i].region != 0) {
            *dir_slot(d, old->e[i].region) = old->e[i];
            d->count++;
        }
    ms_table_write_begin(t);
    __atomic_store_n(&t->dir, d, __ATOMIC_RELEASE);
    ms_table_write_end(t);
    t->bytes += dir_bytes(n);
    if (old != NULL)
        retire(t, old, dir_bytes(old->mask + 1));
    return 0;
}

/* Replaces entry e's segment with one of cap slots holding its records. */
static int
seg_resize(ms_table_t *t, ms_tdirent_t *e, uint32_t cap)
{
    ms_tseg_t *old = e->seg;
    if (retire_room(t) != 0)
        return -1;
    ms_tseg_t *s = ms_tcalloc(seg_bytes(cap));
    if (s == NULL)
        return -1;
    s->cap = cap;
    for (uint32_t i = 0; i < old->cap; i++)
        if (old->slots[i].ptr != 0)
            ms_tseg_put(s, &old->slots[i]);
    ms_table_write_begin(t);
    __atomic_store_n(&e->seg, s, __ATOMIC_RELEASE);
    ms_table_write_end(t);
    t->bytes += seg_bytes(cap);
    retire(t, old, seg_bytes(old->cap));
    return 0;
}

int
ms_table_grow_seg(ms_table_t *t, uintptr_t ptr)
{
    uintptr_t region = ptr >> MS_REGION_BITS;
    ms_tdirent_t *e = t->dir ? dir_find(t->dir, region) : NULL;
    if (e != NULL) {
        uint64_t cap = (uint64_t)e->seg->cap + e->seg->cap / 2 + 2;
        return cap > UINT32_MAX ? -1 : seg_resize(t, e, (uint32_t)cap);
    }
    if (dir_room(t) != 0)
        return -1;
    ms_tseg_t *s = ms_tcalloc(seg_bytes(MS_TABLE_SEG_MIN));
    if (s == NULL)
        return -1;
    s->cap = MS_TABLE_SEG_MIN;
    e = dir_slot(t->dir, region);
    ms_table_write_begin(t);
    __atomic_store_n(&e->seg, s, __ATOMIC_RELAXED);
    __atomic_store_n(&e->region, region, __ATOMIC_RELEASE);
    t->dir->count++;
    ms_table_write_end(t);
    t->bytes += seg_bytes(MS_TABLE_SEG_MIN);
    return 0;
}

void
ms_table_shrink_seg(ms_table_t *t, uintptr_t ptr)
{
    ms_tdirent_t *e = dir_find(t->dir, ptr >> MS_REGION_BITS);
    uint32_t cap = e->seg->count * 2;
    seg_resize(t, e, cap > MS_TABLE_SEG_MIN ? cap : MS_TABLE_SEG_MIN);
    /* on failure the segment stays as it is */
}

int
ms_table_insert(ms_table_t *t, const ms_rec_t *r)
{
    return ms_table_insert_h(t, r);
}

ms_rec_t *
ms_table_find(ms_table_t *t, uintptr_t ptr)
{
    return ms_table_find_h(t, ptr);
}

int
ms_table_remove(ms_table_t *t, uintptr_t ptr, ms_rec_t *out)
{
    return ms_table_remove_h(t, ptr, out);
}

/* A reader's segment of ptr's region in directory d (any thread). */
static ms_tseg_t *
peek_seg(ms_tdir_t *d, uintptr_t ptr)
{
    uintptr_t region = ptr >> MS_REGION_BITS;
    uint64_t mask = d->mask;
    uint64_t i = ms_table_dir_home(region, mask);
    for (uint64_t n = 0; n <= mask; n++, i = (i + 1) & mask) {
        uintptr_t r = __atomic_load_n(&d->e[i].region, __ATOMIC_ACQUIRE);
        if (r == region)
            return __atomic_load_n(&d->e[i].seg, __ATOMIC_ACQUIRE);
        if (r == 0)
            break;
    }
    return NULL;
}

int
ms_table_peek(ms_table_t *t, uintptr_t ptr, ms_rec_t *out)
{
    reader_in(t);
    uint64_t h = ms_table_hash(ptr);
    int found;
    for (unsigned tries = 0;; tries++) {
        uint64_t s1 = __atomic_load_n(&t->seq, __ATOMIC_ACQUIRE);
        if (s1 & 1) {
            if (tries > 64)
                sched_yield();
            else
                __builtin_ia32_pause();
            continue;
        }
        ms_tdir_t *d = __atomic_load_n(&t->dir, __ATOMIC_ACQUIRE);
        ms_tseg_t *s = d ? peek_seg(d, ptr) : NULL;
        found = 0;
        if (s != NULL) {
            uint32_t cap = s->cap, i = ms_table_home(h, cap);
            for (uint32_t n = 0; n < cap; n++) {
                uintptr_t p = __atomic_load_n(&s->slots[i].ptr, __ATOMIC_RELAXED);
                if (p == 0)
                    break;
                if (p == ptr) {
                    memcpy(out, (const void *)&s->slots[i], sizeof(*out));
                    found = 1;
                    break;
                }
                if (++i == cap)
                    i = 0;
            }
        }
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&t->seq, __ATOMIC_RELAXED) == s1)
            break;
    }
    reader_out(t);
    return found && out->ptr == ptr ? 0 : -1;
}

/* Calls fn on each record of directory d until it returns nonzero (any
 * thread, inside a reader's section); returns that value or 0. */
static int
each_in(ms_tdir_t *d, int (*fn)(void *, const ms_rec_t *), void *arg)
{
    for (uint64_t k = 0; d != NULL && k <= d->mask; k++) {
        if (__atomic_load_n(&d->e[k].region, __ATOMIC_ACQUIRE) == 0)
            continue;
        ms_tseg_t *s = __atomic_load_n(&d->e[k].seg, __ATOMIC_ACQUIRE);
        for (uint32_t i = 0; s != NULL && i < s->cap; i++) {
            ms_rec_t r;
            memcpy(&r, (const void *)&s->slots[i], sizeof(r));
            int rc = r.ptr != 0 ? fn(arg, &r) : 0;
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

void
ms_table_each(ms_table_t *t, void (*restart)(void *),
    int (*fn)(void *, const ms_rec_t *), void *arg)
{
    reader_in(t);
    for (unsigned tries = 0;; tries++) {
        uint64_t s1 = __atomic_load_n(&t->seq, __ATOMIC_ACQUIRE);
        if ((s1 & 1) && tries < 1000) {
            sched_yield();
            continue;
        }
        restart(arg);
        int stop = each_in(__atomic_load_n(&t->dir, __ATOMIC_ACQUIRE), fn, arg);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (stop || __atomic_load_n(&t->seq, __ATOMIC_RELAXED) == s1 ||
            tries >= 1000)
            break;
    }
    reader_out(t);
}

/* Puts a record of the old table back, once (repair). */
static int
reinsert(void *arg, const ms_rec_t *r)
{
    ms_table_t *t = arg;
    if (r->ptr > 1 && ms_table_find(t, r->ptr) == NULL)
        ms_table_insert_h(t, r);
    return 0;
}

void
ms_table_repair(ms_table_t *t)
{
    /* A half-done change leaves at most a record twice or a run with a
     * hole: every record goes into a fresh table. The old arrays, and the
     * retired ones (no reader survives fork), are left: their memory is
     * lost, not reused. */
    ms_tdir_t *old = t->dir;
    t->seq &= ~(uint64_t)1;
    t->nretired = 0;
    t->readers = 0;
    t->dir = NULL;
    t->count = 0;
    t->bytes = 0;
    each_in(old, reinsert, t);
}

uint64_t
ms_table_bytes(const ms_table_t *t)
{
    return __atomic_load_n(&t->bytes, __ATOMIC_RELAXED);
}

/* find_containing's search: a record whose block holds ptr. */
typedef struct {
    uintptr_t ptr;
    ms_rec_t *out;
} contain_t;

static int
contains(void *arg, const ms_rec_t *r)
{
    contain_t *c = arg;
    if (r->ptr < c->ptr && c->ptr - r->ptr < (r->size ? r->size : 1)) {
        *c->out = *r;
        return 1;
    }
    return 0;
}

int
ms_table_find_containing(ms_table_t *t, uintptr_t ptr, ms_rec_t *out)
{
    reader_in(t);
    contain_t c = { ptr, out };
    int found;
    for (;;) {
        uint64_t s1 = __atomic_load_n(&t->seq, __ATOMIC_ACQUIRE);
        if (s1 & 1) {
            sched_yield();
            continue;
        }
        found = each_in(__atomic_load_n(&t->dir, __ATOMIC_ACQUIRE), contains, &c);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&t->seq, __ATOMIC_RELAXED) == s1)
            break;
    }
    reader_out(t);
    return found ? 0 : -1;
}
