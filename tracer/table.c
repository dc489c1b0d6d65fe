/*
 * table.c - the side table: one per thread, open addressing with linear
 * probing on XXH3 of the pointer, deletion by backward shift (no
 * tombstones, so it never fills up with dead slots), doubled at 3/4 load,
 * so it stays near the size of its thread's live set and in its cache.
 *
 * Only the owner writes. Each change is framed by seq (odd while
 * changing); another thread reads with ms_table_peek, which retries until
 * it saw a quiet table. Slot arrays replaced by a resize are kept until no
 * reader is inside any table (ms_table_readers), then freed.
 */
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "internal.h"

#define MIN_SLOTS 256

int64_t ms_table_readers;

static inline uint64_t
slot_of(uintptr_t ptr, uint64_t mask)
{
    return XXH3_64bits(&ptr, sizeof(ptr)) & mask;
}

static inline void
write_begin(ms_table_t *t)
{
    __atomic_store_n(&t->seq, t->seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static inline void
write_end(ms_table_t *t)
{
    __atomic_store_n(&t->seq, t->seq + 1, __ATOMIC_RELEASE);
}

static void
free_retired(ms_table_t *t)
{
    if (t->nretired == 0)
        return;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&ms_table_readers, __ATOMIC_ACQUIRE) != 0)
        return;
    for (int i = 0; i < t->nretired; i++)
        ms_tfree(t->retired[i]);
    t->nretired = 0;
}

static int
table_grow(ms_table_t *t)
{
    uint64_t cap = t->slots ? (t->mask + 1) * 2 : MIN_SLOTS;
    ms_rec_t *slots = ms_tcalloc(cap * sizeof(ms_rec_t));
    if (slots == NULL)
        return -1;
    free_retired(t);
    if (t->nretired == (int)(sizeof(t->retired) / sizeof(t->retired[0]))) {
        ms_tfree(slots);
        return -1;
    }
    uint64_t mask = cap - 1;
    for (uint64_t i = 0; t->slots && i <= t->mask; i++) {
        ms_rec_t *r = &t->slots[i];
        if (r->ptr == 0)
            continue;
        uint64_t j = slot_of(r->ptr, mask);
        while (slots[j].ptr != 0)
            j = (j + 1) & mask;
        slots[j] = *r;
    }
    if (t->slots != NULL)
        t->retired[t->nretired++] = t->slots;
    __atomic_store_n(&t->slots, slots, __ATOMIC_RELEASE);
    __atomic_store_n(&t->mask, mask, __ATOMIC_RELEASE);
    return 0;
}

/* Returns 0, or -1 when no memory (the record is dropped). */
int
ms_table_insert(ms_table_t *t, const ms_rec_t *r)
{
    write_begin(t);
    int rc = 0;
    if (t->slots == NULL || (t->count + 1) * 4 > (t->mask + 1) * 3) {
        if (table_grow(t) != 0) {
            rc = -1;
            goto out;
        }
    }
    uint64_t i = slot_of(r->ptr, t->mask);
    while (t->slots[i].ptr != 0) {
        if (t->slots[i].ptr == r->ptr) {    /* stale: replace */
            t->slots[i] = *r;
            goto out;
        }
        i = (i + 1) & t->mask;
    }
    t->slots[i] = *r;
    t->count++;
out:
    write_end(t);
    return rc;
}

ms_rec_t *
ms_table_find(ms_table_t *t, uintptr_t ptr)
{
    if (t->slots == NULL)
        return NULL;
    uint64_t i = slot_of(ptr, t->mask);
    for (;;) {
        uintptr_t k = t->slots[i].ptr;
        if (k == ptr)
            return &t->slots[i];
        if (k == 0)
            return NULL;
        i = (i + 1) & t->mask;
    }
}

/* Removes ptr's record into *out; returns 0, or -1 when absent. */
int
ms_table_remove(ms_table_t *t, uintptr_t ptr, ms_rec_t *out)
{
    ms_rec_t *r = ms_table_find(t, ptr);
    if (r == NULL)
        return -1;
    write_begin(t);
    *out = *r;
    uint64_t mask = t->mask, hole = (uint64_t)(r - t->slots);
    uint64_t i = (hole + 1) & mask;
    /* Backward shift: pull later members of the probe run into the hole. */
    while (t->slots[i].ptr != 0) {
        uint64_t home = slot_of(t->slots[i].ptr, mask);
        if (((i - home) & mask) >= ((i - hole) & mask)) {
            t->slots[hole] = t->slots[i];
            hole = i;
        }
        i = (i + 1) & mask;
    }
    t->slots[hole].ptr = 0;
    t->count--;
    write_end(t);
    return 0;
}

int
ms_table_peek(ms_table_t *t, uintptr_t ptr, ms_rec_t *out)
{
    __atomic_add_fetch(&ms_table_readers, 1, __ATOMIC_ACQ_REL);
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
        ms_rec_t *slots = __atomic_load_n(&t->slots, __ATOMIC_ACQUIRE);
        uint64_t mask = __atomic_load_n(&t->mask, __ATOMIC_ACQUIRE);
        found = 0;
        if (slots != NULL) {
            uint64_t i = slot_of(ptr, mask);
            for (uint64_t n = 0; n <= mask; n++, i = (i + 1) & mask) {
                uintptr_t k = __atomic_load_n(&slots[i].ptr, __ATOMIC_RELAXED);
                if (k == 0)
                    break;
                if (k == ptr) {
                    memcpy(out, (const void *)&slots[i], sizeof(*out));
                    found = 1;
                    break;
                }
            }
        }
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&t->seq, __ATOMIC_RELAXED) == s1)
            break;
    }
    __atomic_sub_fetch(&ms_table_readers, 1, __ATOMIC_ACQ_REL);
    return found && out->ptr == ptr ? 0 : -1;
}

void
ms_table_repair(ms_table_t *t)
{
    t->seq &= ~(uint64_t)1;
    ms_rec_t *old = t->slots;
    uint64_t oldmask = t->mask;
    if (old == NULL)
        return;
    t->slots = NULL;
    t->mask = 0;
    t->count = 0;
    t->nretired = 0;    /* no reader survives fork */
    for (uint64_t i = 0; i <= oldmask; i++)
        if (old[i].ptr != 0 && ms_table_find(t, old[i].ptr) == NULL)
            ms_table_insert(t, &old[i]);
}

void
ms_table_destroy(ms_table_t *t)
{
    for (int i = 0; i < t->nretired; i++)
        ms_tfree(t->retired[i]);
    ms_tfree(t->slots);
    memset(t, 0, sizeof(*t));
}

uint64_t
ms_table_bytes(const ms_table_t *t)
{
    return t->slots ? (t->mask + 1) * sizeof(ms_rec_t) : 0;
}
