/*
 * hooks.h - what the hooks' files share: trace.c (exact mode, the entry
 * points of trace.h), resize.c (realloc, rallocx, xallocx), sample.c
 * (sampled mode) and remote.c (frees of other threads' blocks, the inbox,
 * frees of unknown pointers).
 */
#ifndef MS_HOOKS_H
#define MS_HOOKS_H

#include "internal.h"
#include "table.h"

/* A thread's drift in live bytes moved to the global figure past this. */
#define MS_LIVE_FLUSH   (32 * 1024)

/* Enters a hook: returns the calling thread's state with the re-entry
 * guard set and its inbox drained, or NULL when the hook must not trace
 * (re-entered, or the thread has no state). */
static inline ms_thread_t *
ms_hook_enter(void)
{
    if (MS_UNLIKELY(ms_tls_busy))
        return NULL;
    ms_thread_t *t = ms_tls_self;
    if (MS_UNLIKELY(t == NULL))
        t = ms_thread_self();
    if (t != NULL) {
        ms_tls_busy = 1;
        if (MS_UNLIKELY(__atomic_load_n(&t->inbox.pending, __ATOMIC_RELAXED)))
            ms_inbox_drain(t);
    }
    return t;
}

/* Leaves a hook entered with ms_hook_enter. */
static inline void
ms_hook_leave(void)
{
    ms_tls_busy = 0;
}

/* Moves a thread's drift in live bytes to the global figure and peak. */
void ms_live_flush(ms_thread_t *t);

static inline void
ms_live_add(ms_thread_t *t, int64_t d)
{
    t->live += d;
    if (MS_UNLIKELY(t->exited))     /* its last destructors' */
        __atomic_add_fetch(&ms_exited_live, d, __ATOMIC_RELAXED);
    int64_t drift = t->live - t->live_flushed;
    if (MS_UNLIKELY(drift > MS_LIVE_FLUSH || drift < -MS_LIVE_FLUSH))
        ms_live_flush(t);
}

/* n bytes freed by t: its freed bytes up, its live bytes down. */
static inline void
ms_count_freed(ms_thread_t *t, uint64_t n)
{
    t->bytes_freed += n;
    ms_live_add(t, -(int64_t)n);
}

/* The owner's table operations. An exited thread's table is changed by
 * whoever frees its blocks, under its inbox lock: its own last
 * destructors take the lock too, for look-ups as well (a look-up keeps
 * the segment it found in the table's near entries). MS_OWN_DO: the int
 * that call (on t's table) returns, locked when the table is an orphan. */
#define MS_OWN_DO(t, call) __extension__ ({                             \
    int rc_;                                                            \
    if (MS_LIKELY(!(t)->inbox.orphan)) {                                \
        rc_ = (call);                                                   \
    } else {                                                            \
        ms_spin_lock(&(t)->inbox.lock);                                 \
        rc_ = (call);                                                   \
        ms_spin_unlock(&(t)->inbox.lock);                               \
    }                                                                   \
    rc_; })

static inline __attribute__((always_inline)) int
ms_own_insert(ms_thread_t *t, ms_rec_t *r)
{
    return MS_OWN_DO(t, ms_table_insert_h(&t->table, r));
}

static inline __attribute__((always_inline)) int
ms_own_remove(ms_thread_t *t, uintptr_t p, ms_rec_t *out)
{
    return MS_OWN_DO(t, ms_table_remove_h(&t->table, p, out));
}

static inline int
ms_own_get(ms_thread_t *t, uintptr_t p, ms_rec_t *out)
{
    return MS_OWN_DO(t, ms_table_get(&t->table, p, out));
}

static inline int
ms_own_set_flags(ms_thread_t *t, uintptr_t p, unsigned flags)
{
    return MS_OWN_DO(t, ms_table_set_flags(&t->table, p, flags));
}

/* The last frees of a thread, to tell a double free from a wild one. */
static inline void
ms_recent_add(ms_thread_t *t, uintptr_t p, uint32_t stack)
{
    uint32_t i = t->nrecent++ & 63;
    /* the stack before the pointer that names it (remote.c reads the
     * pointer, the stack, the pointer again) */
    t->recent_stack[i] = stack;
    __atomic_store_n(&t->recent[i], p, __ATOMIC_RELEASE);
}

/* Counts a block the tracer could not record (out of memory). */
void ms_dropped(void);
/* Records a new block p of req bytes at the calling stack (trace.c). */
void ms_record(ms_thread_t *t, uintptr_t p, size_t req, unsigned kind,
    unsigned flags, void *ra, void *fp);
/* Per-site statistics of a free of record r at now (ms_clock_ms, or in
 * a hook ms_hook_clock_ms; trace.c). */
void ms_account_site_free(ms_sitestat_t *st, const ms_rec_t *r, int temporary,
    uint32_t now);
/* A free's task and variable bookkeeping (trace.c). */
void ms_account_free_extras(const ms_rec_t *r, uint32_t task);

/* sample.c */
void ms_sample_publish(ms_thread_t *t);
void ms_busy_alloc(void *p);
void ms_busy_free(void *p);
int64_t ms_sample_draw(ms_thread_t *t);
/* flags: the engine's flags p was made with, kept if p is moved */
/* pre: the decision the allocator took before the engine call, or 0. */
void *ms_sample_alloc(ms_thread_t *t, void *p, size_t req, ms_kind_t kind,
    int flags, unsigned pre, void *ra, void *fp);
int ms_sample_free(ms_thread_t *t, void *p, ms_free_kind_t kind, void *ra,
    void *fp);

/* remote.c */
/* Returns the thread other than t whose table holds p (its record in
 * *out), or NULL. */
ms_thread_t *ms_find_owner(ms_thread_t *t, uintptr_t p, ms_rec_t *out);
/* A free of p, which t's own table does not hold. Returns 1 when the
 * engine must not release p now (it waits in its owner's inbox, or it was
 * already freed), 0 when it may, -1 when no thread holds p. */
int ms_foreign_free(ms_thread_t *t, uintptr_t p, ms_rec_t *r,
    ms_free_kind_t how, void *ra, void *fp);
/* A free of a pointer no table holds. Returns 0 to pass it to jemalloc, 1
 * when it is a heap error and must not be passed on. */
int ms_unknown_free(ms_thread_t *t, uintptr_t p, ms_free_kind_t how,
    void *ra, void *fp);

#endif
