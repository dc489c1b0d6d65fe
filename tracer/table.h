/*
 * table.h - the side table's hot operations, inlined into the hooks.
 *
 * Linear probing on XXH3 of the pointer. Each record keeps its distance
 * from its home slot, so a delete shifts the rest of its run back without
 * hashing anything again (no tombstones: the table never fills with dead
 * slots). Only the owner calls these; see table.c for readers.
 */
#ifndef MS_TABLE_H
#define MS_TABLE_H

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "internal.h"

#define MS_TABLE_MAX_DIST 255

static inline uint64_t
ms_table_hash(uintptr_t ptr)
{
    return XXH3_64bits(&ptr, sizeof(ptr));
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

static inline ms_rec_t *
ms_table_find_h(ms_table_t *t, uintptr_t ptr, uint64_t h)
{
    ms_rec_t *slots = t->slots;
    if (MS_UNLIKELY(slots == NULL))
        return NULL;
    uint64_t mask = t->mask;
    for (uint64_t i = h & mask;; i = (i + 1) & mask) {
        uintptr_t k = slots[i].ptr;
        if (k == ptr)
            return &slots[i];
        if (k == 0)
            return NULL;
    }
}

/* Inserts a record for a pointer the table does not hold; 0 or -1. */
static inline int
ms_table_insert_h(ms_table_t *t, ms_rec_t *r, uint64_t h)
{
    if (MS_UNLIKELY(t->slots == NULL || (t->count + 1) * 4 > (t->mask + 1) * 3))
        if (ms_table_grow(t) != 0)
            return -1;
    for (;;) {
        ms_rec_t *slots = t->slots;
        uint64_t mask = t->mask, i = h & mask;
        unsigned d = 0;
        while (slots[i].ptr != 0 && d < MS_TABLE_MAX_DIST) {
            i = (i + 1) & mask;
            d++;
        }
        if (MS_LIKELY(d < MS_TABLE_MAX_DIST)) {
            r->dist = d;
            ms_table_write_begin(t);
            slots[i] = *r;
            t->count++;
            ms_table_write_end(t);
            return 0;
        }
        if (ms_table_grow(t) != 0)      /* a run too long: spread out */
            return -1;
    }
}

/* Takes ptr's record out into *out; 0, or -1 when absent. */
static inline int
ms_table_remove_h(ms_table_t *t, uintptr_t ptr, uint64_t h, ms_rec_t *out)
{
    ms_rec_t *r = ms_table_find_h(t, ptr, h);
    if (r == NULL)
        return -1;
    *out = *r;
    ms_rec_t *slots = t->slots;
    uint64_t mask = t->mask, hole = (uint64_t)(r - slots);
    uint64_t i = (hole + 1) & mask;
    ms_table_write_begin(t);
    /* Move back each later member of the run whose home is at or before
     * the hole: its distance says where home is. */
    while (slots[i].ptr != 0) {
        uint64_t gap = (i - hole) & mask;
        if (slots[i].dist >= gap) {
            slots[hole] = slots[i];
            slots[hole].dist -= gap;
            hole = i;
        }
        i = (i + 1) & mask;
    }
    slots[hole].ptr = 0;
    t->count--;
    ms_table_write_end(t);
    /* a table far larger than its live set gives its memory back */
    if (MS_UNLIKELY(t->count * 8 < mask + 1 && mask + 1 > 4096))
        ms_table_shrink(t);
    return 0;
}

#endif
