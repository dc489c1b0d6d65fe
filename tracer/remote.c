/*
 * remote.c - frees of blocks that the freeing thread does not own.
 *
 * A free looks in the freeing thread's own table first (trace.c). A miss
 * means another thread owns the block: the owner is found by reading
 * tables without locks (last owner seen first), the free is accounted at
 * once, and the block waits in the owner's inbox, not yet given back to
 * jemalloc, until the owner takes the record out at its next hook. So an
 * address is never in two tables, and a second free of it is seen as one.
 * A pointer no table holds is a block from before start-up, one the tracer
 * could not record, or a heap error (heaperr.c).
 */
#include <string.h>

#include "hooks.h"
#include "heaperr.h"
#include "../engine/engine.h"

/* Finds the thread other than t whose table holds p. */
ms_thread_t *
ms_find_owner(ms_thread_t *t, uintptr_t p, ms_rec_t *out)
{
    ms_thread_t *hint = t->last_owner;
    if (hint != NULL && ms_table_peek(&hint->table, p, out) == 0)
        return hint;
    for (ms_thread_t *o = ms_threads_head(); o != NULL; o = o->next) {
        if (o == t || o == hint ||
            __atomic_load_n(&o->table.count, __ATOMIC_RELAXED) == 0)
            continue;
        if (ms_table_peek(&o->table, p, out) == 0) {
            t->last_owner = o;
            return o;
        }
    }
    return NULL;
}

/*
 * A free of p, which t's own table does not hold. Returns 1 when the
 * engine must not release p now (it waits in its owner's inbox, or it was
 * already freed), 0 when it may.
 */
int
ms_foreign_free(ms_thread_t *t, uintptr_t p, ms_rec_t *r, ms_free_kind_t how,
    void *ra, void *fp)
{
    ms_thread_t *o = ms_find_owner(t, p, r);
    if (o == NULL)
        return -1;
    if (ms_opt.sample == 0 && !ms_kinds_match(r->kind, how)) {
        ms_heap_error(MS_HERR_MISMATCH, p, how, r, o, t, ra, fp);
        return 1;
    }
    int deferred = 1;
    ms_spin_lock(&o->inbox.lock);
    if (o->inbox.orphan) {
        /* The owner has exited: its table is ours to change, locked. */
        deferred = ms_table_remove(&o->table, p, r) == 0 ? 0 : 2;
    } else {
        for (uint32_t i = 0; i < o->inbox.n; i++)
            if (o->inbox.ptrs[i] == p)
                deferred = 2;       /* freed twice */
        if (deferred == 1 && o->inbox.n == o->inbox.cap) {
            uint32_t nc = o->inbox.cap ? o->inbox.cap * 2 : 64;
            uintptr_t *n = ms_trealloc(o->inbox.ptrs, nc * sizeof(*n));
            if (n != NULL) {
                o->inbox.ptrs = n;
                o->inbox.cap = nc;
            }
        }
        if (deferred == 1 && o->inbox.n < o->inbox.cap) {
            o->inbox.ptrs[o->inbox.n++] = p;
            __atomic_store_n(&o->inbox.pending, 1, __ATOMIC_RELEASE);
        } else if (deferred == 1) {
            deferred = 0;   /* no memory to defer: free now, record stays */
            ms_dropped();
        }
    }
    ms_spin_unlock(&o->inbox.lock);
    if (deferred == 2) {    /* a double free: never passed on */
        if (ms_opt.sample == 0)
            ms_heap_error(MS_HERR_DOUBLE_FREE, p, how, r, o, t, ra, fp);
        return 1;
    }
    ms_recent_add(t, p, ms_sites_stack_of(&o->sites, r->site));
    if (ms_opt.sample == 0) {
        t->frees++;
        t->kind_frees[how]++;
        t->bytes_freed += r->size;
        ms_live_add(t, -(int64_t)r->size);
    }
    uint32_t task = ms_sites_task_of(&o->sites, r->site);
    uint32_t slot = ms_sites_slot(&t->sites,
        ms_sites_stack_of(&o->sites, r->site), task, o->id);
    if (slot != UINT32_MAX)
        ms_account_site_free(ms_sites_at(&t->sites, slot), r, 0);
    ms_account_free_extras(r, task);
    return deferred;
}

void
ms_inbox_drain(ms_thread_t *t)
{
    uintptr_t local[64];
    for (;;) {
        ms_spin_lock(&t->inbox.lock);
        uint32_t n = t->inbox.n < 64 ? t->inbox.n : 64;
        t->inbox.n -= n;
        memcpy(local, t->inbox.ptrs + t->inbox.n, n * sizeof(*local));
        if (t->inbox.n == 0)
            __atomic_store_n(&t->inbox.pending, 0, __ATOMIC_RELAXED);
        ms_spin_unlock(&t->inbox.lock);
        if (n == 0)
            return;
        for (uint32_t i = 0; i < n; i++) {
            ms_rec_t r;
            if (ms_own_remove(t, local[i], &r) == 0)
                ms_je_free((void *)local[i]);
        }
    }
}

/* Whether p was freed lately; *stack gets its allocation stack. */
static int
recently_freed(uintptr_t p, uint32_t *stack)
{
    for (ms_thread_t *o = ms_threads_head(); o != NULL; o = o->next)
        for (int i = 0; i < 64; i++)
            if (__atomic_load_n(&o->recent[i], __ATOMIC_RELAXED) == p) {
                *stack = __atomic_load_n(&o->recent_stack[i], __ATOMIC_RELAXED);
                return 1;
            }
    return 0;
}

/*
 * A free of a pointer no table holds. Returns 0 to pass it to jemalloc
 * (a block from before start-up, or one the tracer could not record), 1
 * when it is a heap error and must not be passed on.
 */
int
ms_unknown_free(ms_thread_t *t, uintptr_t p, ms_free_kind_t how, void *ra,
    void *fp)
{
    if (ms_early_take(p) == 0)
        return 0;
    if (ms_early_overflowed() ||
        __atomic_load_n(&ms_dropped_events, __ATOMIC_RELAXED) != 0) {
        /* some blocks have no record: this may be one of them */
        __atomic_add_fetch(&ms_untracked_frees, 1, __ATOMIC_RELAXED);
        return 0;
    }
    ms_rec_t r;
    for (ms_thread_t *o = ms_threads_head(); o != NULL; o = o->next) {
        if (ms_table_find_containing(&o->table, p, &r) == 0) {
            ms_heap_error(MS_HERR_INTERIOR_FREE, p, how, &r, o, t, ra, fp);
            return 1;
        }
    }
    uint32_t stack = 0;
    if (recently_freed(p, &stack))
        ms_heap_error_stack(MS_HERR_DOUBLE_FREE, p, how, stack, t, ra, fp);
    else
        ms_heap_error(MS_HERR_INVALID_FREE, p, how, NULL, NULL, t, ra, fp);
    return 1;
}
