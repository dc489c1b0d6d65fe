/*
 * trace.c - the hooks the allocator calls, and the exact counters.
 *
 * Exact mode (MEMSCOPE_SAMPLE=0): every block gets a 32-byte record in the
 * allocating thread's side table (table.c), which only that thread writes:
 * the common path takes no lock and touches no shared cache line. A free
 * looks in the freeing thread's own table first. A miss means another
 * thread owns the block: the owner is found by reading tables without
 * locks (last owner seen first), the free is accounted at once, and the
 * block waits in the owner's inbox, not yet given back to jemalloc, until
 * the owner takes the record out at its next hook. So an address is never
 * in two tables, and a second free of it is seen as one.
 *
 * Sampled mode (MEMSCOPE_SAMPLE=N): each thread counts bytes down to an
 * exponentially distributed threshold with mean N (a Poisson process over
 * bytes, as in jemalloc and tcmalloc). A block that crosses it is sampled
 * and moved to a page-aligned block of the same size (rare: N bytes apart
 * on average), so a free can tell from the pointer's low bits that most
 * blocks were never sampled and need no look-up. Counts stay exact; byte
 * counts then come from jemalloc's exact per-thread usable-byte counters,
 * since the requested size of an unsampled block is not kept.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "table.h"
#include "heaperr.h"
#include "fast.h"
#include "../engine/engine.h"

#define LIVE_FLUSH   (32 * 1024)

int ms_trace_on = MS_TRACE_EARLY;
int64_t ms_global_live;
int64_t ms_global_peak;
uint64_t ms_untracked_frees;
uint64_t ms_dropped_events;
size_t ms_max_events;
uint64_t ms_named_unsampled;
int ms_fast_sampled;
uint64_t ms_vars_foreign;     /* named blocks outside sampling, or owned
                                    by another thread: frees must look */
uint32_t ms_tick_ms;
int ms_ticking;
static int warned_table_oom;

/* Whether malloc and free may take the inlined sampled path (fast.h):
 * sampled mode, and no unsampled block that a free must look up. */
void
ms_fast_update(void)
{
    __atomic_store_n(&ms_fast_sampled, ms_opt.sample != 0 &&
        __atomic_load_n(&ms_named_unsampled, __ATOMIC_RELAXED) == 0,
        __ATOMIC_RELEASE);
}

uint32_t
ms_clock_ms(void)
{
    if (MS_LIKELY(__atomic_load_n(&ms_ticking, __ATOMIC_RELAXED)))
        return __atomic_load_n(&ms_tick_ms, __ATOMIC_RELAXED);
    return (uint32_t)((ms_now_ns() - ms_start_ns) / 1000000u);
}

static inline ms_thread_t *
enter(void)
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

static inline void
leave(void)
{
    ms_tls_busy = 0;
}

/* Moves a thread's drift in live bytes to the global figure and peak. */
static void
live_flush(ms_thread_t *t)
{
    int64_t d = t->live - t->live_flushed;
    t->live_flushed = t->live;
    int64_t now = __atomic_add_fetch(&ms_global_live, d, __ATOMIC_RELAXED);
    int64_t peak = __atomic_load_n(&ms_global_peak, __ATOMIC_RELAXED);
    while (now > peak && !__atomic_compare_exchange_n(&ms_global_peak, &peak,
        now, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

static inline void
live_add(ms_thread_t *t, int64_t d)
{
    t->live += d;
    int64_t drift = t->live - t->live_flushed;
    if (MS_UNLIKELY(drift > LIVE_FLUSH || drift < -LIVE_FLUSH))
        live_flush(t);
}

/*
 * Sampled mode reads jemalloc's counters in the thread's own TLS: only the
 * thread itself may (another thread's TLS can vanish as it exits), so it
 * publishes them every 128 allocations or frees, and at exit; other
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
static void
sampled_flush(ms_thread_t *t)
{
    if (t->je_allocp == NULL || t != ms_tls_self)
        return;
    uint64_t a = ms_thread_bytes_alloc(t), f = ms_thread_bytes_freed(t);
    __atomic_store_n(&t->bytes_alloc, a, __ATOMIC_RELAXED);
    __atomic_store_n(&t->bytes_freed, f, __ATOMIC_RELAXED);
    t->live = (int64_t)(a - f);
    live_flush(t);
}

void
ms_thread_freeze(ms_thread_t *t)
{
    if (ms_opt.sample != 0)
        sampled_flush(t);
    t->je_allocp = t->je_deallocp = NULL;
}

/* Blocks libc makes and frees for the tracer (while it runs) are counted
 * by jemalloc too: sampled mode sets them apart. */
static void
busy_alloc(void *p)
{
    ms_thread_t *t = ms_tls_self;
    if (p != NULL && t != NULL && t->je_allocp != NULL && !ms_tls_quiet)
        t->adj_alloc += ms_je_sallocx(p, 0);
}

static void
busy_free(void *p)
{
    ms_thread_t *t = ms_tls_self;
    if (p != NULL && ms_tls_busy && t != NULL && t->je_allocp != NULL)
        t->adj_free += ms_je_sallocx(p, 0);
}

/* The owner's table operations; an exited thread's table is locked. */
static inline int
own_insert(ms_thread_t *t, ms_rec_t *r)
{
    uint64_t h = ms_table_hash(r->ptr);
    if (MS_LIKELY(!t->inbox.orphan))
        return ms_table_insert_h(&t->table, r, h);
    ms_spin_lock(&t->inbox.lock);
    int rc = ms_table_insert_h(&t->table, r, h);
    ms_spin_unlock(&t->inbox.lock);
    return rc;
}

static inline int
own_remove(ms_thread_t *t, uintptr_t p, ms_rec_t *out)
{
    uint64_t h = ms_table_hash(p);
    if (MS_LIKELY(!t->inbox.orphan))
        return ms_table_remove_h(&t->table, p, h, out);
    ms_spin_lock(&t->inbox.lock);
    int rc = ms_table_remove_h(&t->table, p, h, out);
    ms_spin_unlock(&t->inbox.lock);
    return rc;
}

static __attribute__((noinline)) uint32_t
site_slot_miss(ms_thread_t *t, unsigned c, uint64_t key, uint64_t h,
    const uintptr_t *frames, int n)
{
    uint32_t id = ms_stack_intern(h, frames, n);
    uint32_t slot = ms_sites_slot(&t->sites, id);
    if (slot != UINT32_MAX) {
        t->scache_hash[c] = key;
        t->scache_slot[c] = slot + 1;
    }
    return slot;
}

/* The calling thread's site slot for the current call stack. With one
 * frame the return address itself is the cache key: no walk, no hash. */
static inline uint32_t
site_slot(ms_thread_t *t, void *ra, void *fp)
{
    uintptr_t frames[MS_MAX_DEPTH];
    uint64_t h;
    if (ms_opt.stack_depth == 1) {
        uintptr_t key = (uintptr_t)ra;
        unsigned c = (unsigned)((key ^ (key >> 8) ^ (key >> 16)) & (MS_SCACHE - 1));
        if (MS_LIKELY(t->scache_hash[c] == key && t->scache_slot[c] != 0))
            return t->scache_slot[c] - 1;
        frames[0] = key;
        return site_slot_miss(t, c, key, XXH3_64bits(frames, sizeof(key)),
            frames, 1);
    }
    int n = ms_stack_walk(t, ra, fp, frames, &h);
    unsigned c = (unsigned)(h >> 56);
    if (MS_LIKELY(t->scache_hash[c] == h && t->scache_slot[c] != 0))
        return t->scache_slot[c] - 1;
    return site_slot_miss(t, c, h, h, frames, n);
}

static void
dropped(void)
{
    __atomic_add_fetch(&ms_dropped_events, 1, __ATOMIC_RELAXED);
    ms_warn_once(&warned_table_oom,
        "out of memory for the tracer's tables; some blocks are not traced");
}

/* Estimated weight of a sampled block of n bytes: 1 / P(sampled). */
static inline double
sample_weight(uint64_t n)
{
    return 1.0 / -expm1(-(double)n / (double)ms_opt.sample);
}

/* The usable size of a new block: jemalloc's size class, from its own
 * tables for small requests, asked of jemalloc for the rest. */
static inline uint64_t
usable_size(uintptr_t p, size_t req, unsigned kind)
{
    if (MS_LIKELY(req <= 4096 && kind != MS_KIND_ALIGNED &&
            !(kind & MS_KIND_OVERALIGNED)))
        return je_sz_index2size_tab[je_sz_size2index_tab[(req + 7) >> 3]];
    return ms_je_sallocx((void *)p, 0);
}

static void
record(ms_thread_t *t, uintptr_t p, size_t req, unsigned kind,
    unsigned flags, void *ra, void *fp)
{
    uint32_t slot = site_slot(t, ra, fp);
    if (MS_UNLIKELY(slot == UINT32_MAX ||
            (ms_max_events != 0 && t->table.count >= ms_max_events))) {
        dropped();
        return;
    }
    uint64_t usable = usable_size(p, req, kind);
    ms_rec_t r = { .ptr = p, .size = req, .usable = ms_usable_code(usable),
        .kind = kind & (MS_KIND_OVERALIGNED - 1), .flags = flags,
        .time_ms = ms_clock_ms(), .seq = (uint32_t)t->allocs, .site = slot,
        .task = ms_tls_task };
    if (MS_UNLIKELY(own_insert(t, &r) != 0)) {
        dropped();
        return;
    }
    ms_sitestat_t *st = ms_sites_at(&t->sites, slot);
    st->allocs++;
    st->bytes += req;
    st->usable_bytes += usable;
    if (flags & MS_REC_SAMPLED) {
        double w = sample_weight(req);
        st->est_allocs += w;
        st->est_bytes += w * (double)req;
    }
    if (r.task != 0)
        ms_task_account(r.task, (int64_t)req, 1);
}

/* Sampling: bytes to the next sample, exponential with mean ms_opt.sample. */
static int64_t
draw_interval(ms_thread_t *t)
{
    t->rng ^= t->rng << 13;
    t->rng ^= t->rng >> 7;
    t->rng ^= t->rng << 17;
    double u = (double)((t->rng >> 11) + 1) * (1.0 / 9007199254740993.0);
    double v = -log(u) * (double)ms_opt.sample;
    return v < 1 ? 1 : v > 9e18 ? (int64_t)9e18 : (int64_t)v;
}

void *
ms_trace_alloc(void *p, size_t req, ms_kind_t kind, void *ra, void *fp)
{
    if (MS_UNLIKELY(ms_trace_on == MS_TRACE_EARLY ||
            (ms_tls_busy && !ms_tls_quiet))) {
        /* before start-up, or made by libc for the tracer: remembered so
         * that its free is not taken for a heap error */
        ms_early_add((uintptr_t)p);
        busy_alloc(p);
        return p;
    }
    int fresh = ms_tls_self == NULL;
    ms_thread_t *t = enter();
    if (t == NULL)
        return p;
    if (MS_UNLIKELY(fresh) && t->je_allocp != NULL)
        t->je_base_alloc -= ms_je_sallocx(p, 0);  /* counted before t */
    t->allocs++;
    t->size_hist[ms_fast_size_bucket(req)]++;
    if (ms_opt.sample == 0) {
        t->bytes_alloc += req;
        live_add(t, (int64_t)req);
        record(t, (uintptr_t)p, req, kind, 0, ra, fp);
        leave();
        return p;
    }
    if (MS_UNLIKELY(t->je_allocp == NULL)) {
        uint64_t u = ms_je_sallocx(p, 0);
        t->bytes_alloc += u;
        live_add(t, (int64_t)u);
    } else if (MS_UNLIKELY((t->allocs & 127) == 0)) {
        sampled_flush(t);
    }
    if (MS_UNLIKELY(t->sample_left < 0))
        t->sample_left = draw_interval(t);
    t->sample_left -= (int64_t)req;
    if (MS_LIKELY(t->sample_left >= 0)) {
        leave();
        return p;
    }
    t->sample_left = draw_interval(t);
    /* Sampled: make the block page-aligned, so free() can recognise it. */
    if (((uintptr_t)p & (MS_SAMPLE_ALIGN - 1)) != 0) {
        void *q = ms_je_mallocx(req ? req : 1, MS_JE_ALIGN(MS_SAMPLE_ALIGN) |
            (kind == MS_KIND_CALLOC ? MS_JE_ZERO : 0));
        if (q != NULL) {
            if (kind == MS_KIND_REALLOC)
                memcpy(q, p, req);
            uint64_t u = ms_je_sallocx(p, 0), uq = ms_je_sallocx(q, 0);
            ms_je_free(p);
            if (t->je_allocp != NULL) {
                t->adj_alloc += u;      /* p's alloc and free were ours */
                t->adj_free += u;
            } else {
                t->bytes_alloc += uq - u;
                live_add(t, (int64_t)uq - (int64_t)u);
            }
            p = q;
        }
    }
    record(t, (uintptr_t)p, req, kind, MS_REC_SAMPLED, ra, fp);
    leave();
    return p;
}

/* Per-site statistics of a free by thread t of a record from slot's
 * owner; lifetime from the record. */
static void
account_site_free(ms_sitestat_t *st, const ms_rec_t *r, int temporary)
{
    uint32_t now = ms_clock_ms();
    st->frees++;
    st->freed_bytes += r->size;
    st->freed_usable_bytes += ms_usable_of_code(r->usable);
    st->temporaries += (uint64_t)temporary;
    if (r->flags & MS_REC_SAMPLED) {
        double w = sample_weight(r->size);
        st->est_freed_allocs += w;
        st->est_freed_bytes += w * (double)r->size;
    }
    st->life[ms_life_bucket(now > r->time_ms ? now - r->time_ms : 0)]++;
}

static void
account_free_extras(const ms_rec_t *r)
{
    if (r->task != 0)
        ms_task_account(r->task, -(int64_t)r->size, 0);
    if ((r->flags & MS_REC_VARIABLE) ||
        __atomic_load_n(&ms_vars_foreign, __ATOMIC_RELAXED) != 0)
        ms_variable_on_free(r->ptr, ms_now_precise_ns());
}

/* The last frees of a thread, to tell a double free from a wild one. */
static inline void
recent_add(ms_thread_t *t, uintptr_t p, uint32_t stack)
{
    uint32_t i = t->nrecent++ & 63;
    t->recent[i] = p;
    t->recent_stack[i] = stack;
}

/* Finds the thread other than t whose table holds p. */
static ms_thread_t *
find_owner(ms_thread_t *t, uintptr_t p, ms_rec_t *out)
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
static int
foreign_free(ms_thread_t *t, uintptr_t p, ms_rec_t *r, ms_free_kind_t how,
    void *ra, void *fp)
{
    ms_thread_t *o = find_owner(t, p, r);
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
            dropped();
        }
    }
    ms_spin_unlock(&o->inbox.lock);
    if (deferred == 2) {    /* a double free: never passed on */
        if (ms_opt.sample == 0)
            ms_heap_error(MS_HERR_DOUBLE_FREE, p, how, r, o, t, ra, fp);
        return 1;
    }
    recent_add(t, p, ms_sites_stack_of(&o->sites, r->site));
    if (ms_opt.sample == 0) {
        t->frees++;
        t->bytes_freed += r->size;
        live_add(t, -(int64_t)r->size);
    }
    uint32_t slot = ms_sites_slot(&t->sites, ms_sites_stack_of(&o->sites, r->site));
    if (slot != UINT32_MAX)
        account_site_free(ms_sites_at(&t->sites, slot), r, 0);
    account_free_extras(r);
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
            if (own_remove(t, local[i], &r) == 0)
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
static int
unknown_free(ms_thread_t *t, uintptr_t p, ms_free_kind_t how, void *ra,
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

/* A free in exact mode; see ms_trace_free. */
static int
free_exact(ms_thread_t *t, uintptr_t p, ms_free_kind_t how, void *ra,
    void *fp)
{
    ms_rec_t r;
    if (MS_LIKELY(own_remove(t, p, &r) == 0)) {
        if (MS_UNLIKELY(!ms_kinds_match(r.kind, how))) {
            own_insert(t, &r);      /* the block stays live */
            ms_heap_error(MS_HERR_MISMATCH, p, how, &r, t, t, ra, fp);
            return 1;
        }
        t->frees++;
        t->bytes_freed += r.size;
        live_add(t, -(int64_t)r.size);
        ms_sitestat_t *st = ms_sites_at(&t->sites, r.site);
        recent_add(t, p, st->stack);
        account_site_free(st, &r, r.seq == (uint32_t)t->allocs);
        if (MS_UNLIKELY(r.task != 0 || (r.flags & MS_REC_VARIABLE) ||
                __atomic_load_n(&ms_vars_foreign, __ATOMIC_RELAXED) != 0))
            account_free_extras(&r);
        return 0;
    }
    int rc = foreign_free(t, p, &r, how, ra, fp);
    if (rc >= 0)
        return rc;
    return unknown_free(t, p, how, ra, fp);
}

int
ms_trace_free(void *p, ms_free_kind_t kind, void *ra, void *fp)
{
    if (MS_UNLIKELY(ms_trace_on == MS_TRACE_EARLY)) {
        ms_early_take((uintptr_t)p);
        return 0;
    }
    ms_thread_t *t = enter();
    if (t == NULL) {
        busy_free(p);
        return 0;
    }
    int rc = 0;
    if (ms_opt.sample == 0) {
        rc = free_exact(t, (uintptr_t)p, kind, ra, fp);
        leave();
        return rc;
    }
    t->frees++;
    if (MS_UNLIKELY(t->je_allocp == NULL)) {
        uint64_t u = ms_je_sallocx(p, 0);
        t->bytes_freed += u;
        live_add(t, -(int64_t)u);
    } else if (MS_UNLIKELY((t->frees & 127) == 0)) {
        sampled_flush(t);
    }
    if (((uintptr_t)p & (MS_SAMPLE_ALIGN - 1)) == 0 ||
        __atomic_load_n(&ms_named_unsampled, __ATOMIC_RELAXED) != 0) {
        ms_rec_t r;
        if (own_remove(t, (uintptr_t)p, &r) == 0) {
            account_site_free(ms_sites_at(&t->sites, r.site), &r, 0);
            account_free_extras(&r);
        } else {
            int f = foreign_free(t, (uintptr_t)p, &r, kind, ra, fp);
            rc = f < 0 ? 0 : f;
        }
    }
    leave();
    return rc;
}

/* realloc of a block the calling thread owns (or, sampled, never saw). */
static void *
realloc_here(ms_thread_t *t, void *old, size_t req, int own, ms_rec_t *r,
    void *ra, void *fp)
{
    uint64_t old_usable = ms_opt.sample && t->je_allocp == NULL ?
        ms_je_sallocx(old, 0) : 0;
    void *q = ms_je_realloc(old, req);
    if (q == NULL) {
        if (own == 0)
            own_insert(t, r);       /* old is still valid */
        leave();
        errno = ENOMEM;
        return NULL;
    }
    t->reallocs++;
    if (ms_opt.sample != 0) {
        t->frees++;
        if (t->je_allocp == NULL) {
            t->bytes_freed += old_usable;
            live_add(t, -(int64_t)old_usable);
        }
    }
    if (own == 0) {
        if (ms_opt.sample == 0) {
            t->frees++;
            t->bytes_freed += r->size;
            live_add(t, -(int64_t)r->size);
        }
        account_site_free(ms_sites_at(&t->sites, r->site), r, 0);
        if (r->task != 0)
            ms_task_account(r->task, -(int64_t)r->size, 0);
        if (r->flags & MS_REC_VARIABLE)
            ms_variable_on_realloc(r->ptr, (uintptr_t)q, req);
    }
    leave();
    q = ms_trace_alloc(q, req, MS_KIND_REALLOC, ra, fp);
    if (own == 0 && (r->flags & MS_REC_VARIABLE)) {
        /* keep the name on the new block's record */
        ms_rec_t *nr = ms_table_find(&t->table, (uintptr_t)q);
        if (nr != NULL)
            nr->flags |= MS_REC_VARIABLE;
    }
    return q;
}

void *
ms_trace_realloc(void *old, size_t req, void *ra, void *fp)
{
    if (MS_UNLIKELY(ms_trace_on == MS_TRACE_EARLY)) {
        void *q = ms_je_realloc(old, req);
        if (q != NULL) {
            ms_early_take((uintptr_t)old);
            ms_early_add((uintptr_t)q);
        }
        return q;
    }
    ms_thread_t *t = enter();
    if (t == NULL) {
        busy_free(old);
        void *q = ms_je_realloc(old, req);
        busy_alloc(q != NULL ? q : old);
        return q;
    }
    ms_rec_t r;
    int look = ms_opt.sample == 0 || ((uintptr_t)old & (MS_SAMPLE_ALIGN - 1)) == 0
        || __atomic_load_n(&ms_named_unsampled, __ATOMIC_RELAXED) != 0;
    if (!look)
        return realloc_here(t, old, req, -1, &r, ra, fp);
    if (own_remove(t, (uintptr_t)old, &r) == 0)
        return realloc_here(t, old, req, 0, &r, ra, fp);
    ms_rec_t peek;
    ms_thread_t *o = find_owner(t, (uintptr_t)old, &peek);
    if (o == NULL) {
        /* A block from before start-up (or, sampled, never sampled): a
         * plain realloc. Otherwise a heap error: old is not touched. */
        if (ms_opt.sample != 0 || ms_early_take((uintptr_t)old) == 0 ||
            ms_early_overflowed() ||
            __atomic_load_n(&ms_dropped_events, __ATOMIC_RELAXED) != 0)
            return realloc_here(t, old, req, -1, &r, ra, fp);
        unknown_free(t, (uintptr_t)old, MS_FREE_REALLOC, ra, fp);
        leave();
        errno = EINVAL;
        return NULL;
    }
    /* Another thread's block: copy it into a new one here, and free the
     * old one the way any foreign free goes (its owner gives it back). */
    void *q = ms_je_malloc(req);
    if (q == NULL) {
        leave();
        errno = ENOMEM;
        return NULL;
    }
    memcpy(q, old, peek.size < req ? peek.size : req);
    /* a named block keeps its name: moved before the free can end it */
    int named = (peek.flags & MS_REC_VARIABLE) ||
        __atomic_load_n(&ms_vars_foreign, __ATOMIC_RELAXED) != 0;
    if (named)
        ms_variable_on_realloc((uintptr_t)old, (uintptr_t)q, req);
    int f = foreign_free(t, (uintptr_t)old, &r, MS_FREE_REALLOC, ra, fp);
    if (f == 0)
        ms_je_free(old);
    if (ms_opt.sample != 0 && f >= 0)
        t->frees++;         /* exact mode counts it in foreign_free */
    t->reallocs++;
    leave();
    q = ms_trace_alloc(q, req, MS_KIND_REALLOC, ra, fp);
    if (named && (peek.flags & MS_REC_VARIABLE)) {
        ms_rec_t *nr = ms_table_find(&t->table, (uintptr_t)q);
        if (nr != NULL)
            nr->flags |= MS_REC_VARIABLE;
    }
    return q;
}
