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

/*
 * A freeing thread's caches of its foreign frees (ms_thread_t.foreign,
 * 2.5 KiB, made at its first: most threads free none of another's
 * blocks, and an ended thread's state is kept for good).
 *
 * hint: a block's owner by region. Producers' blocks lie in regions of
 * their own, so a thread that frees the blocks of several in turn finds
 * each owner at once, where the last owner seen is always another's. A
 * hint only: its owner's table is read to see.
 *
 * site: the block's thread's id and its site slot (never 0: ids start at
 * 1) -> this thread's slot for those blocks, their stack and task, which
 * are fixed once the owner made its slot; so a foreign free reads nothing
 * of the owner's sites, whose lines the owner writes.
 */
#define FOREIGN_BITS 6
struct ms_foreign {
    struct ms_owner_hint {
        uintptr_t region;
        ms_thread_t *owner;
    } hint[1u << FOREIGN_BITS];
    struct ms_xcache {
        uint64_t key;
        ms_sitestat_t *st;
        uint32_t stack, task;
    } site[1u << FOREIGN_BITS];
};

static struct ms_owner_hint *
owner_hint(ms_thread_t *t, uintptr_t p)
{
    if (t->foreign == NULL)
        return NULL;
    uint64_t region = p >> MS_REGION_BITS;
    return &t->foreign->hint[(region * 0x9E3779B97F4A7C15ull) >>
        (64 - FOREIGN_BITS)];
}

void
ms_foreign_drop(ms_thread_t *t)
{
    struct ms_foreign *f = t->foreign;
    t->foreign = NULL;
    ms_tfree(f);
}

/* Whether o, another thread than t and hint, holds p. */
static int
holds(const ms_thread_t *t, ms_thread_t *o, const ms_thread_t *hint,
    uintptr_t p, ms_rec_t *out, ms_table_t **held)
{
    return o != t && o != hint &&
        __atomic_load_n(&o->table.count, __ATOMIC_RELAXED) != 0 &&
        ms_table_peek_held(&o->table, p, out, held) == 0;
}

/* The owner hinted for p's region, the last owner seen, then the threads
 * that may hold records (those that run and those that ended holding
 * some: not every thread that ever ran, 10000 ended threads made a free
 * of another thread's block 580 times slower), then, for what those
 * miss, every thread. */
static ms_thread_t *
find_owner(ms_thread_t *t, uintptr_t p, ms_rec_t *out, ms_table_t **held)
{
    struct ms_owner_hint *h = owner_hint(t, p);
    uintptr_t region = p >> MS_REGION_BITS;
    if (h != NULL && h->region == region && h->owner != NULL &&
        h->owner != t &&
        ms_table_peek_held(&h->owner->table, p, out, held) == 0)
        return h->owner;
    ms_thread_t *hint = t->last_owner, *o = NULL;
    if (hint != NULL &&
        ms_table_peek_held(&hint->table, p, out, held) == 0) {
        o = hint;
        goto found;
    }
    uint32_t n;
    ms_thread_t **a = ms_holders(&n);
    for (uint32_t i = 0; i < n && o == NULL; i++) {
        ms_thread_t *c = __atomic_load_n(&a[i], __ATOMIC_RELAXED);
        if (holds(t, c, hint, p, out, held))
            o = c;
    }
    for (ms_thread_t *c = ms_threads_head(); c != NULL && o == NULL;
            c = c->next)
        if (holds(t, c, hint, p, out, held))
            o = c;
    if (o == NULL)
        return NULL;
    t->last_owner = o;
found:
    if (h == NULL && !t->exited &&
            (t->foreign = ms_tcalloc_line(sizeof(*t->foreign))) != NULL)
        h = owner_hint(t, p);
    if (h != NULL) {
        h->region = region;
        h->owner = o;
    }
    return o;
}

/* Finds the thread other than t whose table holds p. */
ms_thread_t *
ms_find_owner(ms_thread_t *t, uintptr_t p, ms_rec_t *out)
{
    ms_table_t **held = t->peek;
    if (MS_LIKELY(held != NULL))
        return find_owner(t, p, out, held);
    /* an exited thread gave its slot back (or none was left): the late
     * slot, one at a time */
    ms_thread_t *o = find_owner(t, p, out, ms_peek_late_enter());
    ms_peek_late_leave();
    return o;
}

/* The inbox set's first slot for p in a set of cap slots (a power of
 * two): Fibonacci hashing, the product's top bits. */
static inline uint32_t
inbox_home(uintptr_t p, uint32_t cap)
{
    return (uint32_t)(((uint64_t)p * 0x9E3779B97F4A7C15ull) >>
        (64 - __builtin_ctz(cap)));
}

int
ms_inbox_holds(const ms_thread_t *t, uintptr_t p)
{
    const uintptr_t *slots = t->inbox.ptrs;
    uint32_t cap = t->inbox.cap;
    if (slots == NULL || cap == 0)
        return 0;
    for (uint32_t i = inbox_home(p, cap), k = 0; k < cap;
         i = (i + 1) & (cap - 1), k++) {
        if (slots[i] == p)
            return 1;
        if (slots[i] == 0)
            return 0;
    }
    return 0;
}

/* Puts p into a set of cap slots that has room; 0, or 1 when p is in it
 * already. */
static int
inbox_put(uintptr_t *slots, uint32_t cap, uintptr_t p)
{
    for (uint32_t i = inbox_home(p, cap);; i = (i + 1) & (cap - 1)) {
        if (slots[i] == p)
            return 1;
        if (slots[i] == 0) {
            slots[i] = p;
            return 0;
        }
    }
}

/* Makes room in o's inbox for one more pointer (lock held): a set that
 * would be more than half full moves into one twice its size. -1 without
 * memory. */
static int
inbox_room(ms_thread_t *o)
{
    if (MS_LIKELY((o->inbox.n + 1) * 2 <= o->inbox.cap))
        return 0;
    uint32_t nc = o->inbox.cap ? o->inbox.cap * 2 : 64;
    uintptr_t *n = ms_tcalloc((size_t)nc * sizeof(*n));
    if (n == NULL)
        return -1;
    for (uint32_t i = 0; i < o->inbox.cap; i++)
        if (o->inbox.ptrs[i] != 0)
            inbox_put(n, nc, o->inbox.ptrs[i]);
    if (o->inbox.ptrs != NULL)
        ms_tfree(o->inbox.ptrs);
    o->inbox.ptrs = n;
    o->inbox.cap = nc;
    return 0;
}

/* The calling thread's slot for the blocks of o's site slot site, with
 * their stack and task; NULL without memory. */
static inline ms_sitestat_t *
foreign_site(ms_thread_t *t, ms_thread_t *o, uint32_t site, uint32_t *stack,
    uint32_t *task)
{
    uint64_t key = (uint64_t)o->id << 32 | site;
    struct ms_xcache none = { 0 }, *e = t->foreign == NULL ? &none :
        &t->foreign->site[(site ^ (site >> 6) ^ o->id * 0x9E37u) &
        ((1u << FOREIGN_BITS) - 1)];
    if (MS_LIKELY(e->key == key)) {
        *stack = e->stack;
        *task = e->task;
        return e->st;
    }
    *stack = ms_sites_stack_of(&o->sites, site);
    *task = ms_sites_task_of(&o->sites, site);
    uint32_t slot = ms_sites_slot(&t->sites, *stack, *task, o->id);
    if (slot == UINT32_MAX)
        return NULL;
    *e = (struct ms_xcache){ .key = key, .st = ms_sites_at(&t->sites, slot),
        .stack = *stack, .task = *task };
    return e->st;
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
        if (o->table.count == 0)
            ms_holders_emptied();
    } else if (inbox_room(o) == 0) {
        if (inbox_put(o->inbox.ptrs, o->inbox.cap, p) != 0) {
            deferred = 2;           /* freed twice */
        } else {
            o->inbox.n++;
            /* written once a drain: the owner reads this line often */
            if (!__atomic_load_n(&o->inbox.pending, __ATOMIC_RELAXED))
                __atomic_store_n(&o->inbox.pending, 1, __ATOMIC_RELEASE);
        }
    } else {
        deferred = 0;   /* no memory to defer: free now, record stays */
        ms_dropped();
    }
    ms_spin_unlock(&o->inbox.lock);
    if (deferred == 2) {    /* a double free: never passed on */
        if (ms_opt.sample == 0)
            ms_heap_error(MS_HERR_DOUBLE_FREE, p, how, r, o, t, ra, fp);
        return 1;
    }
    uint32_t stack, task;
    ms_sitestat_t *st = foreign_site(t, o, r->site, &stack, &task);
    ms_recent_add(t, p, stack);
    if (ms_opt.sample == 0) {
        t->frees++;
        t->kind_frees[how]++;
        ms_count_freed(t, r->size);
    }
    if (MS_LIKELY(st != NULL))
        ms_account_site_free(st, r, 0, ms_clock_ms());
    if (task != 0 || (r->flags & MS_REC_VARIABLE) ||
        __atomic_load_n(&ms_vars_foreign, __ATOMIC_RELAXED) != 0)
        ms_account_free_extras(r, task);
    return deferred;
}

/* Takes every waiting free at once: the owner swaps in the spare (empty)
 * set under the lock and works through the full one outside it, so the
 * freeing threads wait on the lock for a swap, never for the records. */
void
ms_inbox_drain(ms_thread_t *t)
{
    for (;;) {
        ms_spin_lock(&t->inbox.lock);
        uintptr_t *slots = t->inbox.ptrs;
        uint32_t cap = t->inbox.cap, taken = t->inbox.n;
        if (taken == 0) {
            __atomic_store_n(&t->inbox.pending, 0, __ATOMIC_RELAXED);
            ms_spin_unlock(&t->inbox.lock);
            return;
        }
        t->inbox.ptrs = t->inbox.spare;
        t->inbox.cap = t->inbox.spare != NULL ? t->inbox.spare_cap : 0;
        t->inbox.spare = NULL;
        t->inbox.n = 0;
        __atomic_store_n(&t->inbox.pending, 0, __ATOMIC_RELAXED);
        ms_spin_unlock(&t->inbox.lock);
        for (uint32_t i = 0; i < cap; i++) {
            uintptr_t p = slots[i];
            if (p == 0)
                continue;
            slots[i] = 0;
            ms_rec_t r;
            if (ms_own_remove(t, p, &r) == 0)
                ms_je_free((void *)p);
        }
        /* a set grown by a burst is not kept: each drain walks it whole */
        if (cap > 64 && taken * 8 < cap) {
            ms_tfree(slots);
            continue;
        }
        ms_spin_lock(&t->inbox.lock);
        if (t->inbox.spare == NULL && t->inbox.ptrs != NULL) {
            t->inbox.spare = slots;         /* empty again: kept */
            t->inbox.spare_cap = cap;
            slots = NULL;
        } else if (t->inbox.ptrs == NULL) {
            t->inbox.ptrs = slots;          /* nothing came meanwhile */
            t->inbox.cap = cap;
            slots = NULL;
        }
        ms_spin_unlock(&t->inbox.lock);
        if (slots != NULL)
            ms_tfree(slots);
    }
}

/* Whether p was freed lately; *stack gets its allocation stack. */
static int
recently_freed(uintptr_t p, uint32_t *stack)
{
    for (ms_thread_t *o = ms_threads_head(); o != NULL; o = o->next)
        for (int i = 0; i < 64; i++)
            if (__atomic_load_n(&o->recent[i], __ATOMIC_ACQUIRE) == p) {
                uint32_t st = __atomic_load_n(&o->recent_stack[i],
                    __ATOMIC_ACQUIRE);
                /* still p: the stack is that of a free of p */
                if (__atomic_load_n(&o->recent[i], __ATOMIC_ACQUIRE) != p)
                    continue;
                *stack = st;
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
