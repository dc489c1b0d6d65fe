/*
 * table.c - the side table: one per thread, MS_TABLE_SEGS segments of
 * open addressing with linear probing (table.h), deletion by backward
 * shift (no tombstones, so it never fills up with dead slots). A segment
 * grows by half at 3/4 load and shrinks as it empties, so the table stays
 * near the size of its thread's live set, and a resize copies one segment
 * only: the memory a resize holds twice is a 64th of the table.
 *
 * Only the owner writes. Each change is framed by seq (odd while
 * changing); another thread reads with ms_table_peek, which retries until
 * it saw a quiet table. Segments replaced by a resize are kept until no
 * reader is inside any table (ms_table_readers), then freed: at the next
 * resize, or from the owner's tick (ms_table_reap).
 */
#include <string.h>

#include "table.h"

int64_t ms_table_readers;

static int
no_readers(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return __atomic_load_n(&ms_table_readers, __ATOMIC_ACQUIRE) == 0;
}

static uint64_t
seg_bytes(uint32_t cap)
{
    return sizeof(ms_tseg_t) + (uint64_t)cap * sizeof(ms_rec_t);
}

void
ms_table_reap(ms_table_t *t)
{
    if (t->nretired == 0 || !no_readers())
        return;
    for (int i = 0; i < t->nretired; i++) {
        t->bytes -= seg_bytes(((ms_tseg_t *)t->retired[i])->cap);
        ms_tfree(t->retired[i]);
    }
    t->nretired = 0;
}

/* Replaces segment k with one of cap slots holding the same records. */
static int
seg_resize(ms_table_t *t, unsigned k, uint32_t cap)
{
    ms_tseg_t *old = t->segs[k];
    ms_table_reap(t);
    if (old != NULL &&
        t->nretired == (int)(sizeof(t->retired) / sizeof(t->retired[0])))
        return -1;      /* readers hold on to every retired segment */
    ms_tseg_t *s = ms_tcalloc(seg_bytes(cap));
    if (s == NULL)
        return -1;
    s->cap = cap;
    for (uint32_t i = 0; old != NULL && i < old->cap; i++) {
        const ms_rec_t *r = &old->slots[i];
        if (r->ptr == 0)
            continue;
        uint32_t j = ms_table_home(ms_table_hash(r->ptr), cap), d = 0;
        while (s->slots[j].ptr != 0) {
            if (++j == cap)
                j = 0;
            if (++d >= cap) {       /* cannot happen: cap > count */
                ms_tfree(s);
                return -1;
            }
        }
        s->slots[j] = *r;
        s->count++;
    }
    ms_table_write_begin(t);
    if (old != NULL)
        t->retired[t->nretired++] = old;
    __atomic_store_n(&t->segs[k], s, __ATOMIC_RELEASE);
    ms_table_write_end(t);
    t->bytes += seg_bytes(cap);
    return 0;
}

int
ms_table_grow_seg(ms_table_t *t, uint64_t h)
{
    unsigned k = (unsigned)(h >> (64 - MS_TABLE_SEG_BITS));
    ms_tseg_t *s = t->segs[k];
    if (s == NULL)
        return seg_resize(t, k, MS_TABLE_SEG_MIN);
    if ((uint64_t)s->cap * 3 / 2 > UINT32_MAX)
        return -1;
    return seg_resize(t, k, s->cap + s->cap / 2);
}

void
ms_table_shrink_seg(ms_table_t *t, uint64_t h)
{
    unsigned k = (unsigned)(h >> (64 - MS_TABLE_SEG_BITS));
    ms_tseg_t *s = t->segs[k];
    uint32_t cap = s->count * 2;
    seg_resize(t, k, cap > MS_TABLE_SEG_MIN ? cap : MS_TABLE_SEG_MIN);
    /* on failure the segment stays as it is */
}

int
ms_table_insert(ms_table_t *t, const ms_rec_t *r)
{
    return ms_table_insert_h(t, r, ms_table_hash(r->ptr));
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
    uint64_t h = ms_table_hash(ptr);
    unsigned k = (unsigned)(h >> (64 - MS_TABLE_SEG_BITS));
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
        ms_tseg_t *s = __atomic_load_n(&t->segs[k], __ATOMIC_ACQUIRE);
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
    __atomic_sub_fetch(&ms_table_readers, 1, __ATOMIC_ACQ_REL);
    return found && out->ptr == ptr ? 0 : -1;
}

void
ms_table_each(ms_table_t *t, void (*restart)(void *),
    int (*fn)(void *, const ms_rec_t *), void *arg)
{
    __atomic_add_fetch(&ms_table_readers, 1, __ATOMIC_ACQ_REL);
    for (unsigned tries = 0;; tries++) {
        uint64_t s1 = __atomic_load_n(&t->seq, __ATOMIC_ACQUIRE);
        if ((s1 & 1) && tries < 1000) {
            sched_yield();
            continue;
        }
        restart(arg);
        int stop = 0;
        for (unsigned k = 0; k < MS_TABLE_SEGS && !stop; k++) {
            ms_tseg_t *s = __atomic_load_n(&t->segs[k], __ATOMIC_ACQUIRE);
            for (uint32_t i = 0; s != NULL && i < s->cap && !stop; i++) {
                ms_rec_t r;
                memcpy(&r, (const void *)&s->slots[i], sizeof(r));
                if (r.ptr != 0)
                    stop = fn(arg, &r);
            }
        }
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (stop || __atomic_load_n(&t->seq, __ATOMIC_RELAXED) == s1 ||
            tries >= 1000)
            break;
    }
    __atomic_sub_fetch(&ms_table_readers, 1, __ATOMIC_ACQ_REL);
}

void
ms_table_repair(ms_table_t *t)
{
    t->seq &= ~(uint64_t)1;
    t->nretired = 0;    /* no reader survives fork; their memory is lost */
    for (unsigned k = 0; k < MS_TABLE_SEGS; k++) {
        ms_tseg_t *old = t->segs[k];
        if (old == NULL)
            continue;
        /* A half-done change leaves at most a copied record twice or a
         * run with a hole: put every record back in a fresh segment. */
        t->segs[k] = NULL;
        for (uint32_t i = 0; i < old->cap; i++) {
            uintptr_t p = old->slots[i].ptr;
            if (p > 1 && ms_table_find(t, p) == NULL)
                ms_table_insert_h(t, &old->slots[i], ms_table_hash(p));
        }
    }
    uint64_t count = 0, bytes = 0;
    for (unsigned k = 0; k < MS_TABLE_SEGS; k++)
        if (t->segs[k] != NULL) {
            count += t->segs[k]->count;
            bytes += seg_bytes(t->segs[k]->cap);
        }
    t->count = count;
    t->bytes = bytes;
}

uint64_t
ms_table_bytes(const ms_table_t *t)
{
    return __atomic_load_n(&t->bytes, __ATOMIC_RELAXED);
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
        found = 0;
        for (unsigned k = 0; k < MS_TABLE_SEGS && !found; k++) {
            ms_tseg_t *s = __atomic_load_n(&t->segs[k], __ATOMIC_ACQUIRE);
            for (uint32_t i = 0; s != NULL && i < s->cap && !found; i++) {
                uintptr_t p = __atomic_load_n(&s->slots[i].ptr, __ATOMIC_RELAXED);
                if (p != 0 && p < ptr) {
                    ms_rec_t r;
                    memcpy(&r, (const void *)&s->slots[i], sizeof(r));
                    if (r.ptr == p && ptr - p < (r.size ? r.size : 1)) {
                        *out = r;
                        found = 1;
                    }
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
