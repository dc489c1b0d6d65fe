/*
 * sample.c - sampled mode (MEMSCOPE_SAMPLE=N): the hooks' part, and a
 * thread's byte counters.
 *
 * Each thread counts bytes down to an exponentially distributed threshold
 * with mean N (a Poisson process over bytes, as in jemalloc and tcmalloc).
 * A block that crosses it is sampled and moved to a page-aligned block of
 * the same size (rare: N bytes apart on average), so a free can tell from
 * the pointer's low bits that most blocks were never sampled and need no
 * look-up. Counts stay exact; byte counts come from jemalloc's exact
 * per-thread usable-byte counters, since the requested size of an
 * unsampled block is not kept. The common case of all this is inlined
 * into malloc and free (fast.h, sample.h).
 */
#include <math.h>
#include <string.h>

#include "hooks.h"
#include "sample.h"
#include "fast.h"
#include "../engine/engine.h"

/*
 * Sampled mode reads jemalloc's counters in the thread's own TLS: only the
 * thread itself may (another thread's TLS can vanish as it exits), so it
 * publishes them every MS_PUBLISH_INTERVAL allocations or frees, and at exit; other
 * threads read what was published.
 */
static inline int
reads_tls(const ms_thread_t *t)
{
    return ms_opt.sample != 0 && t == ms_tls_self && t->je_allocp != NULL;
}

uint64_t
ms_thread_bytes_alloc(const ms_thread_t *t)
{
    if (reads_tls(t))
        return *t->je_allocp - t->je_base_alloc - t->adj_alloc;
    return __atomic_load_n(&t->bytes_alloc, __ATOMIC_RELAXED);
}

uint64_t
ms_thread_bytes_freed(const ms_thread_t *t)
{
    if (reads_tls(t))
        return *t->je_deallocp - t->je_base_dealloc - t->adj_free;
    return __atomic_load_n(&t->bytes_freed, __ATOMIC_RELAXED);
}

int64_t
ms_thread_live(const ms_thread_t *t)
{
    if (reads_tls(t))
        return (int64_t)(ms_thread_bytes_alloc(t) - ms_thread_bytes_freed(t));
    return __atomic_load_n(&t->live, __ATOMIC_RELAXED);
}

/* Sampled mode: publishes the thread's byte counters and brings the
 * global peak up to date. Called by the thread itself. */
void
ms_sample_publish(ms_thread_t *t)
{
    if (t->je_allocp == NULL || t != ms_tls_self)
        return;
    uint64_t a = ms_thread_bytes_alloc(t), f = ms_thread_bytes_freed(t);
    __atomic_store_n(&t->bytes_alloc, a, __ATOMIC_RELAXED);
    __atomic_store_n(&t->bytes_freed, f, __ATOMIC_RELAXED);
    t->live = (int64_t)(a - f);
    ms_live_flush(t);
}

/* Whether p has a sampled block's shape: page-aligned, of a page at
 * least. Every sampled block has it; an unsampled block whose address
 * happens to start a page (1 in 32 blocks of the 128-byte class) is
 * smaller in most cases. */
static inline int
sample_shaped(const void *p)
{
    return ((uintptr_t)p & (MS_SAMPLE_ALIGN - 1)) == 0 &&
        ms_je_sallocx(p, 0) >= MS_SAMPLE_ALIGN;
}

/*
 * The budget lent to the inlined path (fast.h), in the calling thread's
 * TLS. The countdown to the next sample is t->sample_left plus what is
 * lent (fast_left): the hooks take the loan back before they decide, so a
 * sample falls where it would without the loan. Only the thread itself
 * lends or takes back, always with ms_tls_busy set or before the engine
 * call of a hook, where nothing can take the inlined path.
 */
static inline void
fast_reclaim(ms_thread_t *t)
{
    t->sample_left += (int64_t)ms_tls.fast_left;
    ms_tls.fast_left = 0;
}

/* Lends the budget again, publishing the byte counters first when due:
 * after MS_PUBLISH_INTERVAL frees, or MS_FAST_LEND bytes allocated or
 * freed since the last publication. The bytes lent never take the
 * unpublished allocated bytes past MS_FAST_LEND (by more than a block). */
static void
fast_lend(ms_thread_t *t)
{
    if (t != ms_tls_self || t->je_allocp == NULL)
        return;
    fast_reclaim(t);
    uint64_t a = ms_thread_bytes_alloc(t) - t->bytes_alloc;
    uint64_t f = ms_thread_bytes_freed(t) - t->bytes_freed;
    if (ms_tls.fast_frees <= 0 || a >= MS_FAST_LEND || f >= MS_FAST_LEND) {
        ms_sample_publish(t);
        a = 0;
        ms_tls.fast_frees = MS_PUBLISH_INTERVAL;
    }
    if (t->sample_left <= 0)
        return;                 /* not drawn yet: the next hook draws */
    uint64_t g = MS_FAST_LEND - a;
    if ((uint64_t)t->sample_left < g)
        g = (uint64_t)t->sample_left;
    t->sample_left -= (int64_t)g;
    ms_tls.fast_left = g;
}

unsigned
ms_fast_presample(size_t n)
{
    if (ms_opt.sample == 0)
        return 0;
    ms_thread_t *t = ms_tls_self;
    if (t == NULL || ms_tls_busy || t->je_allocp == NULL)
        return 0;
    fast_reclaim(t);
    return ms_sample_skips(t, n) || !ms_sample_due(t, n) ?
        MS_KIND_PRECOUNTED : MS_KIND_PRESAMPLED;
}

/* Counts a free on the inlined path's behalf. */
static inline void
fast_count_free(ms_thread_t *t, ms_free_kind_t how)
{
    t->frees++;
    if (how != MS_FREE_FREE)
        t->kind_frees[how]++;
}

/* Outside the hooks, but nothing here allocates: the free of a block
 * that is page-aligned but smaller than a page (so not sampled), and the
 * lending again of the frees once used up, without the hook's look-ups.
 * The hook takes the rest: a block that may be sampled, a thread without
 * state, frees waiting in the inbox. */
int
ms_fast_free_more(const void *p, ms_free_kind_t how)
{
    ms_thread_t *t = ms_tls_self;
    if (t == NULL || t->je_allocp == NULL ||
        __atomic_load_n(&t->inbox.pending, __ATOMIC_RELAXED))
        return 0;
    if (((uintptr_t)p & (MS_SAMPLE_ALIGN - 1)) == 0) {
        if (sample_shaped(p))
            return 0;
        if (--ms_tls.fast_frees >= 0) {
            fast_count_free(t, how);
            return 1;
        }
    }
    fast_count_free(t, how);
    fast_lend(t);
    return 1;
}

void
ms_fast_alloc_undo(size_t n, ms_kind_t kind)
{
    ms_thread_t *t = ms_tls_self;
    t->allocs--;
    if (kind != MS_KIND_MALLOC)
        t->kind_allocs[kind]--;
    t->size_hist[ms_fast_size_bucket_lent(n)]--;
    ms_tls.fast_left += n;
}

void
ms_fast_realloc_undo(size_t n)
{
    ms_thread_t *t = ms_tls_self;
    ms_fast_alloc_undo(n, MS_KIND_REALLOC);
    t->frees--;
    t->kind_frees[MS_FREE_REALLOC]--;
    t->reallocs--;
    ms_tls.fast_frees++;
}

void
ms_thread_freeze(ms_thread_t *t)
{
    if (ms_opt.sample != 0)
        ms_sample_publish(t);
    if (t == ms_tls_self) {
        fast_reclaim(t);
        ms_tls.fast_frees = 0;
    }
    t->je_allocp = t->je_deallocp = NULL;
}

/* Blocks libc makes and frees for the tracer (while it runs) are counted
 * by jemalloc too: sampled mode sets them apart. */
void
ms_busy_alloc(void *p)
{
    ms_thread_t *t = ms_tls_self;
    if (p != NULL && t != NULL && t->je_allocp != NULL && !ms_tls_quiet)
        t->adj_alloc += ms_je_sallocx(p, 0);
}

void
ms_busy_free(void *p)
{
    ms_thread_t *t = ms_tls_self;
    if (p != NULL && ms_tls_busy && t != NULL && t->je_allocp != NULL)
        t->adj_free += ms_je_sallocx(p, 0);
}

/* Sampling: bytes to the next sample, exponential with mean ms_opt.sample. */
int64_t
ms_sample_draw(ms_thread_t *t)
{
    t->rng ^= t->rng << 13;
    t->rng ^= t->rng >> 7;
    t->rng ^= t->rng << 17;
    double u = (double)((t->rng >> 11) + 1) * (1.0 / 9007199254740993.0);
    double v = -log(u) * (double)ms_opt.sample;
    return v < 1 ? 1 : v > 9e18 ? (int64_t)9e18 : (int64_t)v;
}

int
ms_sample_due(ms_thread_t *t, size_t n)
{
    if (t->sample_left < 0)
        t->sample_left = ms_sample_draw(t);     /* the thread's first */
    t->sample_left -= (int64_t)n;
    if (t->sample_left >= 0)
        return 0;
    t->sample_left = ms_sample_draw(t);
    return 1;
}

/* The sampled mode's part of an allocation hook: counters, the countdown
 * (unless the allocator took the decision, pre), and a sampled block
 * recorded; moved when it was not made aligned. Returns the block to give. */
void *
ms_sample_alloc(ms_thread_t *t, void *p, size_t req, ms_kind_t kind,
    int flags, unsigned pre, void *ra, void *fp)
{
    if (MS_UNLIKELY(t->je_allocp == NULL)) {
        uint64_t u = ms_je_sallocx(p, 0);
        t->bytes_alloc += u;
        ms_live_add(t, (int64_t)u);
    } else {
        fast_reclaim(t);        /* (done already when pre != 0) */
    }
    if (pre == MS_KIND_PRECOUNTED ||
        (pre == 0 && MS_LIKELY(ms_sample_skips(t, req) || !ms_sample_due(t, req)))) {
        fast_lend(t);
        return p;
    }
    /* Sampled: the block must be page-aligned and of a page at least, as
     * any block asked for with that alignment, so that free() can tell
     * from the pointer and its size class that a block is not sampled
     * (ms_fast_free_more); one the allocator did not ask for so (realloc,
     * the jemalloc API) is moved. */
    if (!sample_shaped(p)) {
        /* the same zeroing, tcache and arena; a larger alignment */
        void *q = ms_je_mallocx(req ? req : 1, MS_JE_ALIGN(MS_SAMPLE_ALIGN) |
            (flags & ~MS_JE_LG_ALIGN_MASK));
        if (q != NULL) {
            unsigned k = kind & (MS_KIND_OVERALIGNED - 1);
            if (k == MS_KIND_REALLOC || k == MS_KIND_RALLOCX)
                memcpy(q, p, req);
            uint64_t u = ms_je_sallocx(p, 0), uq = ms_je_sallocx(q, 0);
            ms_je_free(p);
            if (t->je_allocp != NULL) {
                t->adj_alloc += u;      /* p's alloc and free were ours */
                t->adj_free += u;
            } else {
                t->bytes_alloc += uq - u;
                ms_live_add(t, (int64_t)uq - (int64_t)u);
            }
            p = q;
        }
    }
    ms_record(t, (uintptr_t)p, req, kind, MS_REC_SAMPLED, ra, fp);
    fast_lend(t);
    return p;
}

/* The sampled mode's part of a free hook; returns as ms_trace_free. */
int
ms_sample_free(ms_thread_t *t, void *p, ms_free_kind_t kind, void *ra, void *fp)
{
    int rc = 0;
    t->frees++;
    t->kind_frees[kind]++;
    /* a thread whose counters are frozen counts the bytes of what it
     * gives back itself (not of a block left in its owner's inbox: the
     * owner gives that back, and its counters count it) */
    uint64_t u = MS_UNLIKELY(t->je_allocp == NULL) ? ms_je_sallocx(p, 0) : 0;
    if (sample_shaped(p) ||
        __atomic_load_n(&ms_named_unsampled, __ATOMIC_RELAXED) != 0) {
        ms_rec_t r;
        if (ms_own_remove(t, (uintptr_t)p, &r) == 0) {
            ms_sitestat_t *st = ms_sites_at(&t->sites, r.site);
            ms_account_site_free(st, &r, 0, ms_clock_ms());
            ms_account_free_extras(&r, st->task);
        } else {
            int f = ms_foreign_free(t, (uintptr_t)p, &r, kind, ra, fp);
            rc = f < 0 ? 0 : f;
        }
    }
    if (MS_UNLIKELY(t->je_allocp == NULL) && rc == 0)
        ms_count_freed(t, u);
    if (t == ms_tls_self)
        ms_tls.fast_frees--;        /* counts toward publishing, as inlined */
    fast_lend(t);
    return rc;
}
