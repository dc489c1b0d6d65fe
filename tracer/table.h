/*
 * table.h - the side table's hot operations, inlined into the hooks.
 *
 * A thread's table is MS_TABLE_SEGS segments, picked by the top bits of a
 * multiplicative hash of the pointer; each segment is its own table with
 * linear probing, its home slot taken from the next bits by a multiply
 * (any capacity, not only powers of two). A delete shifts the rest of its
 * run back (no tombstones), finding each record's home again from its
 * pointer: two instructions. A segment grows by half at 3/4 load, so a
 * resize copies a 64th of the table, the table's load factor stays
 * between 1/2 and 3/4, and no resize holds two copies of the whole table.
 * Only the owner calls these; see table.c for readers.
 */
#ifndef MS_TABLE_H
#define MS_TABLE_H

#include "internal.h"

#define MS_TABLE_MAX_DIST 255

/* Fibonacci hashing: the product's top bits mix all the pointer's bits. */
static inline uint64_t
ms_table_hash(uintptr_t ptr)
{
    return (uint64_t)ptr * 0x9E3779B97F4A7C15ull;
}

static inline ms_tseg_t *
ms_table_seg(const ms_table_t *t, uint64_t h)
{
    return t->segs[h >> (64 - MS_TABLE_SEG_BITS)];
}

/* The home slot in a segment of cap slots. */
static inline uint32_t
ms_table_home(uint64_t h, uint32_t cap)
{
    return (uint32_t)(((h << MS_TABLE_SEG_BITS >> 32) * cap) >> 32);
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

static inline __attribute__((always_inline)) ms_rec_t *
ms_table_find_h(ms_table_t *t, uintptr_t ptr, uint64_t h)
{
    ms_tseg_t *s = ms_table_seg(t, h);
    if (MS_UNLIKELY(s == NULL))
        return NULL;
    uint32_t cap = s->cap;
    for (uint32_t i = ms_table_home(h, cap);;) {
        uintptr_t k = s->slots[i].ptr;
        if (k == ptr)
            return &s->slots[i];
        if (k == 0)
            return NULL;
        if (++i == cap)
            i = 0;
    }
}

/* Slow part of an insert: the segment of hash h grows (or is made). */
int ms_table_grow_seg(ms_table_t *t, uint64_t h);

/* Inserts a record for a pointer the table does not hold; 0 or -1. */
static inline __attribute__((always_inline)) int
ms_table_insert_h(ms_table_t *t, const ms_rec_t *r, uint64_t h)
{
    for (;;) {
        ms_tseg_t *s = ms_table_seg(t, h);
        if (MS_LIKELY(s != NULL && (s->count + 1) * 4 <= s->cap * 3)) {
            uint32_t cap = s->cap, i = ms_table_home(h, cap), d = 0;
            while (s->slots[i].ptr != 0 && d < MS_TABLE_MAX_DIST) {
                if (++i == cap)
                    i = 0;
                d++;
            }
            if (MS_LIKELY(d < MS_TABLE_MAX_DIST)) {
                ms_table_write_begin(t);
                s->slots[i] = *r;
                s->count++;
                t->count++;
                ms_table_write_end(t);
                return 0;
            }
        }
        if (ms_table_grow_seg(t, h) != 0)   /* full, or a run too long */
            return -1;
    }
}

/* Gives a segment far larger than its records their memory back. */
void ms_table_shrink_seg(ms_table_t *t, uint64_t h);

/* Takes ptr's record out into *out; 0, or -1 when absent. */
static inline __attribute__((always_inline)) int
ms_table_remove_h(ms_table_t *t, uintptr_t ptr, uint64_t h, ms_rec_t *out)
{
    ms_rec_t *r = ms_table_find_h(t, ptr, h);
    if (r == NULL)
        return -1;
    *out = *r;
    ms_tseg_t *s = ms_table_seg(t, h);
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
    if (MS_UNLIKELY(s->count * 8 < cap && cap > MS_TABLE_SEG_MIN * 2))
        ms_table_shrink_seg(t, h);
    return 0;
}

#endif
