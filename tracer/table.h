/*
 * table.h - the side table's hot operations, inlined into the hooks.
 *
 * A thread's table is a directory of address regions (16 KiB each: the
 * blocks jemalloc placed together, in one slab or a few), each with a
 * segment of its own: an open-addressed array of the region's records,
 * linear probing, its home slot taken from a multiplicative hash of the
 * pointer by a multiply (any capacity, not only powers of two). So a
 * program working on neighbouring blocks touches a few small segments,
 * not a random slot of one large array, and a resize copies one region's
 * records. A segment grows by half at 3/4 load; a delete shifts the rest
 * of its run back (no tombstones), finding each record's home again from
 * its pointer. Only the owner calls these; see table.c for readers.
 */
#ifndef MS_TABLE_H
#define MS_TABLE_H

#include "internal.h"

#define MS_TABLE_K        0x9E3779B97F4A7C15ull

/* Fibonacci hashing: the product's top bits mix all the pointer's bits. */
static inline uint64_t
ms_table_hash(uintptr_t ptr)
{
    return (uint64_t)ptr * MS_TABLE_K;
}

/* The home slot in a segment of cap slots. */
static inline uint32_t
ms_table_home(uint64_t h, uint32_t cap)
{
    return (uint32_t)(((h >> 32) * cap) >> 32);
}

/* The directory slot where a region is or would go. */
static inline uint64_t
ms_table_dir_home(uintptr_t region, uint64_t mask)
{
    return ((uint64_t)region * MS_TABLE_K >> 32) & mask;
}

/* The segment of ptr's region, or NULL (owner only). */
static inline ms_tseg_t *
ms_table_seg_of(const ms_table_t *t, uintptr_t ptr)
{
    ms_tdir_t *d = t->dir;
    if (MS_UNLIKELY(d == NULL))
        return NULL;
    uintptr_t region = ptr >> MS_REGION_BITS;
    for (uint64_t i = ms_table_dir_home(region, d->mask);; i = (i + 1) & d->mask) {
        uintptr_t r = d->e[i].region;
        if (MS_LIKELY(r == region))
            return d->e[i].seg;
        if (r == 0)
            return NULL;
    }
}

static inline void
ms_table_write_begin(ms_table_t *t)
{
    __atomic_store_n(&t->seq, t->seq + 1, __ATOMIC_RELAXED);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);    /* x86: stores stay ordered */
}

static inline void
ms_table_write_end(ms_table_t *t)
{
    __atomic_store_n(&t->seq, t->seq + 1, __ATOMIC_RELEASE);
}

/* ptr's slot in segment s, or NULL. */
static inline __attribute__((always_inline)) ms_rec_t *
ms_tseg_find(ms_tseg_t *s, uintptr_t ptr)
{
    uint32_t cap = s->cap;
    for (uint32_t i = ms_table_home(ms_table_hash(ptr), cap);;) {
        uintptr_t k = s->slots[i].ptr;
        if (k == ptr)
            return &s->slots[i];
        if (k == 0)
            return NULL;
        if (++i == cap)
            i = 0;
    }
}

static inline __attribute__((always_inline)) ms_rec_t *
ms_table_find_h(ms_table_t *t, uintptr_t ptr)
{
    ms_tseg_t *s = ms_table_seg_of(t, ptr);
    return MS_LIKELY(s != NULL) ? ms_tseg_find(s, ptr) : NULL;
}

/* Slow part of an insert: ptr's segment grows (or is made). */
int ms_table_grow_seg(ms_table_t *t, uintptr_t ptr);

/* Puts r into segment s, which has an empty slot. */
static inline __attribute__((always_inline)) void
ms_tseg_put(ms_tseg_t *s, const ms_rec_t *r)
{
    uint32_t cap = s->cap, i = ms_table_home(ms_table_hash(r->ptr), cap);
    while (s->slots[i].ptr != 0)
        if (++i == cap)
            i = 0;
    s->slots[i] = *r;
    s->count++;
}

/* Inserts a record for a pointer the table does not hold; 0 or -1. */
static inline __attribute__((always_inline)) int
ms_table_insert_h(ms_table_t *t, const ms_rec_t *r)
{
    for (;;) {
        ms_tseg_t *s = ms_table_seg_of(t, r->ptr);
        if (MS_LIKELY(s != NULL && (s->count + 1) * 4 <= s->cap * 3)) {
            ms_table_write_begin(t);
            ms_tseg_put(s, r);
            t->count++;
            ms_table_write_end(t);
            return 0;
        }
        if (ms_table_grow_seg(t, r->ptr) != 0)  /* full */
            return -1;
    }
}

/* Gives a segment far larger than its records their memory back. */
void ms_table_shrink_seg(ms_table_t *t, uintptr_t ptr);

/* Takes ptr's record out into *out; 0, or -1 when absent. */
static inline __attribute__((always_inline)) int
ms_table_remove_h(ms_table_t *t, uintptr_t ptr, ms_rec_t *out)
{
    ms_tseg_t *s = ms_table_seg_of(t, ptr);
    if (MS_UNLIKELY(s == NULL))
        return -1;
    ms_rec_t *r = ms_tseg_find(s, ptr);
    if (r == NULL)
        return -1;
    *out = *r;
    ms_rec_t *slots = s->slots;
    uint32_t cap = s->cap, hole = (uint32_t)(r - slots), i = hole;
    ms_table_write_begin(t);
    /* Move back each later member of the run whose home is not between
     * the hole and its slot (cyclically). */
    for (;;) {
        if (++i == cap)
            i = 0;
        uintptr_t k = slots[i].ptr;
        if (k == 0)
            break;
        uint32_t home = ms_table_home(ms_table_hash(k), cap);
        uint32_t dist = i >= home ? i - home : i + cap - home;
        uint32_t gap = i >= hole ? i - hole : i + cap - hole;
        if (dist >= gap) {
            slots[hole] = slots[i];
            hole = i;
        }
    }
    slots[hole].ptr = 0;
    s->count--;
    t->count--;
    ms_table_write_end(t);
    if (MS_UNLIKELY(s->count * 8 < cap && cap > MS_TABLE_SEG_MIN * 4))
        ms_table_shrink_seg(t, ptr);
    return 0;
}

#endif
