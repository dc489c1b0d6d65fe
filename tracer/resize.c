/*
 * resize.c - the resize hooks of trace.h: realloc, rallocx (which may
 * move a block) and xallocx (which never does), in both modes.
 *
 * A resize of the thread's own block takes its record out, resizes, and
 * records the new block at the calling stack as a new allocation of the
 * resize's kind; the old record ends as a free of that kind. A resize of
 * another thread's block copies it into a new block of this thread's and
 * frees the old one as any foreign free goes (remote.c): only a record's
 * owner changes it.
 */
#include <errno.h>
#include <string.h>

#include "hooks.h"
#include "heaperr.h"
#include "sample.h"
#include "fast.h"
#include "../engine/engine.h"

/* A resize's form: realloc, or rallocx with its flags. */
typedef struct {
    int x;          /* rallocx */
    int flags;      /* its flags */
} resize_t;

static inline void *
engine_resize(void *old, size_t req, const resize_t *z)
{
    return z->x ? ms_je_rallocx(old, req, z->flags) : ms_je_realloc(old, req);
}

static inline ms_free_kind_t
resize_free_kind(const resize_t *z)
{
    return z->x ? MS_FREE_RALLOCX : MS_FREE_REALLOC;
}

/* What the old record r of a block resized to q (req bytes) ends: its
 * site's free, its task's bytes, and a named block's name, moved to q. */
static void
account_old(ms_thread_t *t, const ms_rec_t *r, uintptr_t q, size_t req)
{
    ms_sitestat_t *st = ms_sites_at(&t->sites, r->site);
    ms_account_site_free(st, r, 0, ms_hook_clock_ms());
    if (st->task != 0)
        ms_task_account(st->task, -(int64_t)r->size, 0);
    if (r->flags & MS_REC_VARIABLE)
        ms_variable_on_realloc(r->ptr, q, req);
}

/* The new block of a resize, to the allocation hook. */
static inline void *
resize_record(void *q, size_t req, const resize_t *z, void *ra, void *fp)
{
    if (!z->x)
        return ms_trace_alloc(q, req, MS_KIND_REALLOC, ra, fp);
    return ms_trace_allocx(q, req, (z->flags & MS_JE_LG_ALIGN_MASK) ?
        (ms_kind_t)(MS_KIND_RALLOCX | MS_KIND_OVERALIGNED) : MS_KIND_RALLOCX,
        z->flags, ra, fp);
}

/* realloc of a block the calling thread owns (or, sampled, never saw). */
static void *
realloc_here(ms_thread_t *t, void *old, size_t req, int own, ms_rec_t *r,
    const resize_t *z, void *ra, void *fp)
{
    uint64_t old_usable = ms_opt.sample && t->je_allocp == NULL ?
        ms_je_sallocx(old, 0) : 0;
    void *q = engine_resize(old, req, z);
    if (q == NULL) {
        if (own == 0)
            ms_own_insert(t, r);       /* old is still valid */
        ms_hook_leave();
        if (!z->x)
            errno = ENOMEM;
        return NULL;
    }
    t->reallocs++;
    if (ms_opt.sample != 0) {
        t->frees++;
        t->kind_frees[resize_free_kind(z)]++;
        if (t->je_allocp == NULL)
            ms_count_freed(t, old_usable);
    }
    if (own == 0) {
        if (ms_opt.sample == 0) {
            t->frees++;
            t->kind_frees[resize_free_kind(z)]++;
            ms_count_freed(t, r->size);
        }
        account_old(t, r, (uintptr_t)q, req);
    }
    ms_hook_leave();
    q = resize_record(q, req, z, ra, fp);
    if (own == 0 && (r->flags & MS_REC_VARIABLE)) {
        /* keep the name on the new block's record */
        ms_own_set_flags(t, (uintptr_t)q, MS_REC_VARIABLE);
    }
    return q;
}

static void *
resize_hook(void *old, size_t req, const resize_t *z, void *ra, void *fp)
{
    if (MS_UNLIKELY(ms_trace_on == MS_TRACE_EARLY)) {
        void *q = engine_resize(old, req, z);
        if (q != NULL) {
            ms_early_take((uintptr_t)old);
            ms_early_add((uintptr_t)q);
        }
        return q;
    }
    ms_thread_t *t = ms_hook_enter();
    if (t == NULL) {
        ms_busy_free(old);
        void *q = engine_resize(old, req, z);
        ms_busy_alloc(q != NULL ? q : old);
        return q;
    }
    ms_tick(t, 0);      /* the clock of the old block's free */
    ms_rec_t r;
    int look = ms_opt.sample == 0 || ((uintptr_t)old & (MS_SAMPLE_ALIGN - 1)) == 0
        || __atomic_load_n(&ms_named_unsampled, __ATOMIC_RELAXED) != 0;
    if (!look)
        return realloc_here(t, old, req, -1, &r, z, ra, fp);
    if (ms_own_remove(t, (uintptr_t)old, &r) == 0)
        return realloc_here(t, old, req, 0, &r, z, ra, fp);
    ms_rec_t peek;
    ms_thread_t *o = ms_find_owner(t, (uintptr_t)old, &peek);
    if (o == NULL) {
        /* A block from before start-up (or, sampled, never sampled): a
         * plain realloc. Otherwise a heap error: old is not touched. */
        if (ms_opt.sample != 0 || ms_early_take((uintptr_t)old) == 0 ||
            ms_early_overflowed() ||
            __atomic_load_n(&ms_dropped_events, __ATOMIC_RELAXED) != 0)
            return realloc_here(t, old, req, -1, &r, z, ra, fp);
        ms_unknown_free(t, (uintptr_t)old, resize_free_kind(z), ra, fp);
        ms_hook_leave();
        if (!z->x)
            errno = EINVAL;
        return NULL;
    }
    /* Another thread's block: copy it into a new one here, and free the
     * old one the way any foreign free goes (its owner gives it back).
     * rallocx copies what the program may have used: the usable size. */
    void *q = z->x ? ms_je_mallocx(req, z->flags) : ms_je_malloc(req);
    if (q == NULL) {
        ms_hook_leave();
        if (!z->x)
            errno = ENOMEM;
        return NULL;
    }
    size_t keep = z->x ? ms_je_sallocx(old, 0) : peek.size;
    memcpy(q, old, keep < req ? keep : req);
    /* a named block keeps its name: moved before the free can end it */
    int named = (peek.flags & MS_REC_VARIABLE) ||
        __atomic_load_n(&ms_vars_foreign, __ATOMIC_RELAXED) != 0;
    if (named)
        ms_variable_on_realloc((uintptr_t)old, (uintptr_t)q, req);
    uint64_t old_u = ms_opt.sample != 0 && t->je_allocp == NULL ?
        ms_je_sallocx(old, 0) : 0;
    int f = ms_foreign_free(t, (uintptr_t)old, &r, resize_free_kind(z), ra, fp);
    if (f == 0) {
        ms_je_free(old);
        if (old_u != 0)         /* counters frozen: counted here */
            ms_count_freed(t, old_u);
    }
    if (ms_opt.sample != 0 && f >= 0) {
        t->frees++;         /* exact mode counts it in foreign_free */
        t->kind_frees[resize_free_kind(z)]++;
    }
    t->reallocs++;
    ms_hook_leave();
    q = resize_record(q, req, z, ra, fp);
    if (named && (peek.flags & MS_REC_VARIABLE)) {
        ms_own_set_flags(t, (uintptr_t)q, MS_REC_VARIABLE);
    }
    return q;
}

void *
ms_trace_realloc(void *old, size_t req, void *ra, void *fp)
{
    static const resize_t plain = { 0, 0 };
    return resize_hook(old, req, &plain, ra, fp);
}

void *
ms_trace_rallocx(void *old, size_t req, int flags, void *ra, void *fp)
{
    resize_t z = { 1, flags };
    return resize_hook(old, req, &z, ra, fp);
}

/*
 * xallocx never moves a block: the record stays where it is, its size
 * follows the block's (the requested size, or less when the block could
 * not grow that far). A block whose record another thread holds is not
 * resized at all (xallocx may always decline; the old size is returned):
 * only its owner may change that record. Sampled mode decides no new
 * sample for the bytes added in place.
 */
size_t
ms_trace_xallocx(void *p, size_t size, size_t extra, int flags, void *ra,
    void *fp)
{
    if (MS_UNLIKELY(ms_trace_on == MS_TRACE_EARLY))
        return ms_je_xallocx(p, size, extra, flags);
    ms_thread_t *t = ms_hook_enter();
    if (t == NULL) {
        ms_busy_free(p);
        size_t u = ms_je_xallocx(p, size, extra, flags);
        ms_busy_alloc(p);
        return u;
    }
    ms_tick(t, 0);      /* the clock of the record's free and remaking */
    size_t old_u = ms_je_sallocx(p, 0);
    ms_rec_t r;
    int look = ms_opt.sample == 0 || ((uintptr_t)p & (MS_SAMPLE_ALIGN - 1)) == 0
        || __atomic_load_n(&ms_named_unsampled, __ATOMIC_RELAXED) != 0;
    int own = look ? ms_own_remove(t, (uintptr_t)p, &r) : -1;
    if (own != 0 && look && ms_find_owner(t, (uintptr_t)p, &r) != NULL) {
        ms_hook_leave();
        return old_u;
    }
    size_t u = ms_je_xallocx(p, size, extra, flags);
    if (u == old_u || (own != 0 && ms_opt.sample == 0)) {
        /* unchanged, or (exact mode) a block from before start-up */
        if (own == 0)
            ms_own_insert(t, &r);
        ms_hook_leave();
        return u;
    }
    size_t want = size + extra < size ? SIZE_MAX : size + extra;
    size_t req = u < size ? u : u < want ? u : want;
    t->reallocs++;
    t->frees++;
    t->kind_frees[MS_FREE_XALLOCX]++;
    t->allocs++;
    t->kind_allocs[MS_KIND_XALLOCX]++;
    t->size_hist[ms_fast_size_bucket(req)]++;
    if (ms_opt.sample != 0 && t->je_allocp == NULL) {
        t->bytes_freed += old_u;
        t->bytes_alloc += u;
        ms_live_add(t, (int64_t)u - (int64_t)old_u);
    }
    if (own == 0) {
        if (ms_opt.sample == 0) {
            t->bytes_freed += r.size;
            t->bytes_alloc += req;
            ms_live_add(t, (int64_t)req - (int64_t)r.size);
        }
        account_old(t, &r, (uintptr_t)p, req);
        ms_record(t, (uintptr_t)p, req, MS_KIND_XALLOCX | MS_KIND_OVERALIGNED,
            r.flags & MS_REC_SAMPLED, ra, fp);
        if (r.flags & MS_REC_VARIABLE) {
            ms_own_set_flags(t, (uintptr_t)p, MS_REC_VARIABLE);
        }
    }
    ms_hook_leave();
    return u;
}
