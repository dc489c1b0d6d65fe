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

#include "table.h"

#define MIN_SLOTS 256

int64_t ms_table_readers;

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

static int table_resize(ms_table_t *t, uint64_t cap);

int
ms_table_grow(ms_table_t *t)
{
    return table_resize(t, t->slots ? (t->mask + 1) * 2 : MIN_SLOTS);
}

void
ms_table_shrink(ms_table_t *t)
{
    uint64_t cap = t->mask + 1;
    while (cap > MIN_SLOTS && t->count * 4 < cap / 2)
        cap /= 2;
    if (cap < t->mask + 1)
        table_resize(t, cap);   /* on failure the table stays as it is */
}

static int
table_resize(ms_table_t *t, uint64_t cap)
{
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
        uint64_t j = ms_table_hash(r->ptr) & mask, d = 0;
        while (slots[j].ptr != 0) {
            j = (j + 1) & mask;
            d++;
        }
        slots[j] = *r;
        slots[j].dist = d < MS_TABLE_MAX_DIST ? d : MS_TABLE_MAX_DIST;
    }
    ms_table_write_begin(t);
    if (t->slots != NULL)
        t->retired[t->nretired++] = t->slots;
    __atomic_store_n(&t->slots, slots, __ATOMIC_RELEASE);
    __atomic_store_n(&t->mask, mask, __ATOMIC_RELEASE);
    ms_table_write_end(t);
    return 0;
}

int
ms_table_insert(ms_table_t *t, const ms_rec_t *r)
{
    ms_rec_t copy = *r;
    return ms_table_insert_h(t, &copy, ms_table_hash(r->ptr));
}

ms_rec_t *
ms_table_find(ms_table_t *t, uintptr_t ptr)
{
    return ms_table_find_h(t, ptr, ms_table_hash(ptr));
}

int
ms_table_remove(ms_table_t *t, uintptr_t ptr, ms_rec_t *out)
{
    return ms_table_remove_h(t, ptr, ms_table_hash(ptr), out);
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
            uint64_t i = ms_table_hash(ptr) & mask;
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
        if (old[i].ptr > 1 && ms_table_find(t, old[i].ptr) == NULL)
            ms_table_insert(t, &old[i]);
}

uint64_t
ms_table_bytes(const ms_table_t *t)
{
    return t->slots ? (t->mask + 1) * sizeof(ms_rec_t) : 0;
}

int
ms_table_find_containing(ms_table_t *t, uintptr_t ptr, ms_rec_t *out)
{
    __atomic_add_fetch(&ms_table_readers, 1, __ATOMIC_ACQ_REL);
    int found;
    for (;;) {
        uint64_t s1 = __atomic_load_n(&t->seq, __ATOMIC_ACQUIRE);
        if (s1 & 1) {
            sched_yield();
            continue;
        }
        ms_rec_t *slots = __atomic_load_n(&t->slots, __ATOMIC_ACQUIRE);
        uint64_t mask = __atomic_load_n(&t->mask, __ATOMIC_ACQUIRE);
        found = 0;
        for (uint64_t i = 0; slots != NULL && i <= mask && !found; i++) {
            uintptr_t k = __atomic_load_n(&slots[i].ptr, __ATOMIC_RELAXED);
            if (k != 0 && k < ptr) {
                ms_rec_t r;
                memcpy(&r, (const void *)&slots[i], sizeof(r));
                if (r.ptr == k && ptr - k < (r.size ? r.size : 1)) {
                    *out = r;
                    found = 1;
                }
            }
        }
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&t->seq, __ATOMIC_RELAXED) == s1)
            break;
    }
    __atomic_sub_fetch(&ms_table_readers, 1, __ATOMIC_ACQ_REL);
    return found ? 0 : -1;
}
