/*
 * trace.c - the hooks the allocator calls (trace.h), exact mode, and the
 * exact counters.
 *
 * Exact mode (MEMSCOPE_SAMPLE=0): every block gets a 12-byte record (16
 * for a few) in the allocating thread's side table (table.c, table.h),
 * which only that thread writes: the common path takes no lock and
 * touches no shared cache line. Frees of other threads' blocks go through
 * remote.c, resizes through resize.c; sampled mode's part of each hook is
 * in sample.c.
 */
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "hooks.h"
#include "heaperr.h"
#include "sample.h"
#include "fast.h"
#include "../engine/engine.h"


ms_trace_state_t ms_trace_on = MS_TRACE_EARLY;
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

/* Exact mode at depth 1 without a cap on events: the allocation hooks'
 * fast path may be taken (one load for ms_trace_alloc's first test). */
static int exact_depth1;
/* Exact mode at a greater depth without a cap on events: the fast path
 * with the site of a replayed walk (alloc_fast_deep). */
static int exact_deep;

/* Whether malloc and free may take the inlined sampled path (fast.h):
 * sampled mode, and no unsampled block that a free must look up; and
 * exact_depth1. */
void
ms_fast_update(void)
{
    __atomic_store_n(&exact_depth1, ms_opt.sample == 0 &&
        ms_opt.stack_depth == 1 && ms_max_events == 0, __ATOMIC_RELAXED);
    __atomic_store_n(&exact_deep, ms_opt.sample == 0 &&
        ms_opt.stack_depth > 1 && ms_max_events == 0, __ATOMIC_RELAXED);
    __atomic_store_n(&ms_fast_sampled, ms_opt.sample != 0 &&
        __atomic_load_n(&ms_named_unsampled, __ATOMIC_RELAXED) == 0,
        __ATOMIC_RELEASE);
}

/* Test mode: the coarse clock at each use (out of line: rare). */
uint32_t
ms_clock_ms_now(void)
{
    uint64_t now = ms_now_ns();
    return now > ms_start_ns ? (uint32_t)((now - ms_start_ns) / 1000000u) : 0;
}

/* Moves a thread's drift in live bytes to the global figure and peak. */
void
ms_live_flush(ms_thread_t *t)
{
    int64_t d = t->live - t->live_flushed;
    t->live_flushed = t->live;
    int64_t now = __atomic_add_fetch(&ms_global_live, d, __ATOMIC_RELAXED);
    int64_t peak = __atomic_load_n(&ms_global_peak, __ATOMIC_RELAXED);
    while (now > peak && !__atomic_compare_exchange_n(&ms_global_peak, &peak,
        now, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

struct ms_scache ms_scache_none[MS_SCACHE];

static __attribute__((noinline)) ms_sitestat_t *
site_slot_miss(ms_thread_t *t, struct ms_scache *e, uint64_t key, uint64_t h,
    const uintptr_t *frames, int n, uint32_t task)
{
    uint32_t id = ms_stack_intern(h, frames, n);
    uint32_t slot = ms_sites_slot(&t->sites, id, task, 0);
    if (slot == UINT32_MAX)
        return NULL;
    ms_sitestat_t *st = ms_sites_at(&t->sites, slot);
    if (MS_UNLIKELY(t->scache == ms_scache_none)) {
        /* the thread's first miss: its own cache (none once it has
         * exited, or without memory: then each call misses) */
        struct ms_scache *c = t->exited ? NULL :
            ms_tcalloc_line(MS_SCACHE * sizeof(*c));
        if (c == NULL)
            return st;
        t->scache = c;
        e = c + (e - ms_scache_none);
    }
    e->st = st;
    e->key = key;
    return st;
}

/* The cache entry of site_slot at depth 1 for return address ra and
 * task, its key in *key and the unload epoch in *epoch (the allocation
 * hook's fast path probes it too). */
static inline __attribute__((always_inline)) struct ms_scache *
site_cache_1(ms_thread_t *t, void *ra, uint32_t task, uint64_t *key,
    uint32_t *epoch)
{
    uint32_t ep = __atomic_load_n(&ms_unload_epoch, __ATOMIC_RELAXED);
    /* ra is below 2^47 and not 0: so is never the key */
    uint64_t k = (uintptr_t)ra ^ (uint64_t)ep << 48;
    *key = k;
    *epoch = ep;
    return &t->scache[(k ^ (k >> 8) ^ (k >> 16) ^ task) & (MS_SCACHE - 1)];
}

/* The calling thread's site slot for the current call stack and task
 * (NULL without memory). With one frame the return address itself is the
 * cache key: no walk, no hash. The task picks the entry too, so that
 * tasks taking turns on a thread do not evict each other; an entry is
 * for the task of its slot. A key is never 0, an empty entry's. */
static inline __attribute__((always_inline)) ms_sitestat_t *
site_slot(ms_thread_t *t, void *ra, void *fp, uint32_t task)
{
    uintptr_t frames[MS_MAX_FRAMES];
    uint64_t h;
    struct ms_scache *e;
    if (ms_opt.stack_depth == 1) {
        uint32_t epoch;
        uint64_t key;
        e = site_cache_1(t, ra, task, &key, &epoch);
        if (MS_LIKELY(e->key == key && e->st->task == task))
            return e->st;
        frames[0] = (uintptr_t)ra;
        return site_slot_miss(t, e, key,
            XXH3_64bits_withSeed(frames, sizeof(key), epoch), frames, 1, task);
    }
    /* a walk that would find the stack of a kept one is not redone */
    ms_replay_t *kept = ms_stack_replay(t, ra, fp);
    if (MS_LIKELY(kept != NULL && kept->st != NULL &&
            kept->st->task == task))
        return kept->st;
    int n = ms_stack_walk_keep(t, ra, fp, frames, &h, &kept);
    uint64_t key = h | (h == 0);
    e = &t->scache[((h >> 40) ^ task) & (MS_SCACHE - 1)];
    ms_sitestat_t *st = MS_LIKELY(e->key == key && e->st->task == task) ?
        e->st : site_slot_miss(t, e, key, h, frames, n, task);
    if (kept != NULL)
        kept->st = st;
    return st;
}

void
ms_dropped(void)
{
    __atomic_add_fetch(&ms_dropped_events, 1, __ATOMIC_RELAXED);
    ms_warn_once(&warned_table_oom,
        "out of memory for the tracer's tables; some blocks are not traced");
}

/* Requests up to this many bytes take their size class from a table. */
#define SMALL_MAX 4096
/* A small request's usable bytes and their ms_usable_code, by (req + 7)
 * / 8: jemalloc's size classes, read once from its own tables at start
 * (ms_trace_tables_init); a code's usable bytes. */
static uint32_t small_usable[SMALL_MAX / 8 + 1];
static uint8_t small_code[SMALL_MAX / 8 + 1];
static uint64_t code_usable[256];

void
ms_trace_tables_init(void)
{
    for (unsigned g = 0; g <= SMALL_MAX / 8; g++) {
        small_usable[g] = (uint32_t)je_sz_index2size_tab[je_sz_size2index_tab[g]];
        small_code[g] = (uint8_t)ms_usable_code(small_usable[g]);
    }
    for (unsigned c = 0; c < 256; c++)
        code_usable[c] = ms_usable_of_code(c);
}

/* Kinds whose blocks may be aligned beyond their size class: bit k for
 * kind k (MS_KIND_ALIGNED, and every kind with MS_KIND_OVERALIGNED). */
#define ALIGNED_KINDS (1u << MS_KIND_ALIGNED | 0xffffu << MS_KIND_OVERALIGNED)

/* The usable size of a new block and its code: jemalloc's size class,
 * from the tables above for small requests, asked of jemalloc for the
 * rest. */
static inline __attribute__((always_inline)) uint64_t
usable_size(uintptr_t p, size_t req, unsigned kind, unsigned *code)
{
    if (MS_LIKELY(req <= SMALL_MAX && !((ALIGNED_KINDS >> kind) & 1))) {
        *code = small_code[(req + 7) >> 3];
        return small_usable[(req + 7) >> 3];
    }
    uint64_t u = ms_je_sallocx((void *)p, 0);
    *code = ms_usable_code(u);
    return u;
}

/* Sampled mode's estimates of a sampled block's allocation. */
static __attribute__((noinline)) void
sampled_alloc_estimate(ms_sitestat_t *st, size_t req)
{
    ms_sitefree_t *f = ms_sites_free(st);
    ms_siteext_t *x = f != NULL ? ms_sitefree_ext(f) : NULL;
    if (x == NULL) {
        ms_dropped();
        return;
    }
    double w = ms_sample_weight(req);
    x->est_allocs += w;
    x->est_bytes += w * (double)req;
}

/* The record and site statistics of a new block p: ms_record, inlined
 * into the allocation hook. known: its site slot when the caller found it
 * already (for no task), else NULL. */
static inline __attribute__((always_inline)) void
record(ms_thread_t *t, uintptr_t p, size_t req, unsigned kind,
    unsigned flags, ms_sitestat_t *known, void *ra, void *fp)
{
    uint32_t task = ms_tls_task;
    ms_sitestat_t *st = known != NULL ? known : site_slot(t, ra, fp, task);
    if (MS_UNLIKELY(st == NULL ||
            (ms_max_events != 0 && t->table.count >= ms_max_events))) {
        t->last_ptr = 0;
        ms_dropped();
        return;
    }
    unsigned code;
    uint64_t usable = usable_size(p, req, kind, &code);
    ms_rec_t r = { .ptr = p, .size = req, .usable = (uint8_t)code,
        .kind = kind & (MS_KIND_OVERALIGNED - 1), .flags = flags,
        .time_ms = ms_hook_clock_ms(), .site = st->slot };
    if (MS_UNLIKELY(ms_own_insert(t, &r) != 0)) {
        t->last_ptr = 0;
        ms_dropped();
        return;
    }
    t->last_ptr = p;
    st->allocs++;
    st->bytes += req;
    st->usable_bytes += usable;
    if (MS_UNLIKELY(flags & MS_REC_SAMPLED))
        sampled_alloc_estimate(st, req);
    if (MS_UNLIKELY(task != 0))
        ms_task_account(task, (int64_t)req, 1);
}

void
ms_record(ms_thread_t *t, uintptr_t p, size_t req, unsigned kind,
    unsigned flags, void *ra, void *fp)
{
    record(t, p, req, kind, flags, NULL, ra, fp);
}

/*
 * A hook's common case: the tracer started, not re-entered, the thread's
 * state made and no frees waiting in its inbox. Returns the thread's state
 * with the re-entry guard set, or NULL: the hook's slow path then does
 * what ms_hook_enter does. One thread-local address for all of it.
 *
 * alloc: an allocation hook, which looks at the inbox only when it is to
 * tick (every 64 hooks at most): a new block cannot be one that waits
 * there (those are not given back to the engine yet), so only frees and
 * resizes must see the frees before their own; and the owner that leaves
 * the inbox alone lets its freeing threads fill it without taking its
 * line back at each of their frees.
 */
static inline __attribute__((always_inline)) ms_thread_t *
hook_enter_fast(int alloc)
{
    ms_tls_t *tl = &ms_tls;
    ms_thread_t *t = tl->self;
    /* A thread's state is made only once tracing has begun (ms_thread_self
     * is called past the start-up test, or where ms_trace_on is
     * MS_TRACE_ON), and ms_trace_on never goes back to MS_TRACE_EARLY: so
     * a thread with a state is past start-up. */
    if (MS_UNLIKELY(t == NULL || tl->busy))
        return NULL;
    if (MS_UNLIKELY((!alloc || t->tick_left <= 0) &&
            __atomic_load_n(&t->inbox.pending, __ATOMIC_RELAXED)))
        return NULL;
    tl->busy = 1;
    return t;
}

/* ms_fast_size_bucket's bucket without its test for 0: 2n + 1 lies in
 * [2^b, 2^(b+1)) when n lies in [2^(b-1), 2^b), and 1 for n = 0 (a block
 * that was made is smaller than 2^63). */
static inline int
size_bucket(uint64_t n)
{
    int b = 63 - __builtin_clzll(2 * n + 1);
    return b < MS_SIZE_BUCKETS ? b : MS_SIZE_BUCKETS - 1;
}

/* An allocation hook's work once entered and ticked: counters, then the
 * record (exact) or the sample decision. */
static inline __attribute__((always_inline)) void *
alloc_ticked(ms_thread_t *t, void *p, size_t req, ms_kind_t kind, int flags,
    int plain, unsigned pre, ms_sitestat_t *known, void *ra, void *fp)
{
    t->allocs++;
    t->kind_allocs[kind & (MS_KIND_OVERALIGNED - 1)]++;
    t->size_hist[size_bucket(req)]++;
    if (ms_opt.sample == 0) {
        t->bytes_alloc += req;
        ms_live_add(t, (int64_t)req);
        record(t, (uintptr_t)p, req, kind, 0, known, ra, fp);
        return p;
    }
    if (plain)          /* malloc's or calloc's (ms_trace_alloc) */
        flags = kind == MS_KIND_CALLOC ? MS_JE_ZERO : 0;
    return ms_sample_alloc(t, p, req, kind, flags, pre, ra, fp);
}

static inline __attribute__((always_inline)) void *
alloc_traced(ms_thread_t *t, void *p, size_t req, ms_kind_t kind, int flags,
    int plain, unsigned pre, void *ra, void *fp)
{
    ms_tick(t, 1);
    return alloc_ticked(t, p, req, kind, flags, plain, pre, NULL, ra, fp);
}

/* An allocation hook entered (its state ms_tls_self), the tick not yet
 * counted, in exact mode: the general path. kind with MS_KIND_PRE's bits.
 * Six arguments, all in registers: a tail call. */
static __attribute__((noinline)) void *
alloc_entered(void *p, size_t req, ms_kind_t kind, int flags, void *ra,
    void *fp)
{
    p = alloc_traced(ms_tls_self, p, req,
        (ms_kind_t)((unsigned)kind & ~MS_KIND_PRE), flags, 0,
        (unsigned)kind & MS_KIND_PRE, ra, fp);
    ms_hook_leave();
    return p;
}

/* An exact allocation that the fast path passed on, the tick counted;
 * known: the site slot it found (for no task), or NULL. Six arguments,
 * all in registers: a tail call (the thread is ms_tls_self). */
static __attribute__((noinline)) void *
alloc_exact_entered(void *p, size_t req, ms_kind_t kind, ms_sitestat_t *known,
    void *ra, void *fp)
{
    p = alloc_ticked(ms_tls_self, p, req, kind, 0, 0, 0, known, ra, fp);
    ms_hook_leave();
    return p;
}

/*
 * Exact mode's allocation without a cap on events, entered and ticked, in
 * its common case: no task, the site found (at depth 1 in the site cache,
 * deeper by a replayed walk), a small request of a kind not aligned past
 * its class, a free slot in the record's home group of a segment with
 * room, no live-bytes flush due, the table not an orphan's. As free_fast:
 * all is tested before anything is written, any other case goes on to
 * the general path as a tail call, and the path calls nothing.
 * alloc_fast_at is its part once the site slot st is known.
 */
static inline __attribute__((always_inline)) void *
alloc_fast_at(ms_thread_t *t, void *p, size_t req, ms_kind_t kind,
    ms_sitestat_t *st, void *ra, void *fp)
{
    if (MS_UNLIKELY(st->task != 0)) {
        st = NULL;          /* another task's slot: the general path's */
        goto slow;
    }
    if (MS_UNLIKELY(st->slot > MS_TSLOT_NARROW_SITE_MAX))
        goto slow;          /* a record a narrow slot cannot hold */
    ms_tseg_t *s = ms_table_seg_of(&t->table, (uintptr_t)p);
    if (MS_UNLIKELY(s == NULL || s->left == 0 || s->stride != MS_TSLOT_NARROW))
        goto slow;
    int i = ms_tseg_free_home(s, (uintptr_t)p);
    int64_t live = t->live + (int64_t)req;
    int64_t drift = live - t->live_flushed;
    if (MS_UNLIKELY(i < 0 || drift > MS_LIVE_FLUSH || drift < -MS_LIVE_FLUSH))
        goto slow;
    t->allocs++;
    t->kind_allocs[kind]++;
    t->size_hist[size_bucket(req)]++;
    t->bytes_alloc += req;
    t->live = live;
    unsigned code = small_code[(req + 7) >> 3];
    ms_rec_t r = { .ptr = (uintptr_t)p, .size = req, .usable = (uint8_t)code,
        .kind = kind, .flags = 0, .time_ms = ms_hook_clock_ms(),
        .site = st->slot };
    ms_table_put_at(&t->table, s, i, &r);
    t->last_ptr = (uintptr_t)p;
    st->allocs++;
    st->bytes += req;
    st->usable_bytes += small_usable[(req + 7) >> 3];
    ms_hook_leave();
    return p;
slow:
    /* the site found is kept: the general path does not look again */
    return alloc_exact_entered(p, req, kind, st, ra, fp);
}

/* What alloc_fast and alloc_fast_deep test first: no task, the table
 * not an orphan's, a small request of a kind not aligned past its
 * class. */
static inline int
alloc_fast_may(const ms_thread_t *t, size_t req, ms_kind_t kind)
{
    return ms_tls_task == 0 && !t->inbox.orphan && req <= SMALL_MAX &&
        !((ALIGNED_KINDS >> kind) & 1);
}

/* Depth 1: the site from the site cache, by the return address. */
static inline __attribute__((always_inline)) void *
alloc_fast(ms_thread_t *t, void *p, size_t req, ms_kind_t kind, void *ra,
    void *fp)
{
    uint32_t epoch;
    uint64_t key;
    if (MS_LIKELY(alloc_fast_may(t, req, kind))) {
        struct ms_scache *e = site_cache_1(t, ra, 0, &key, &epoch);
        if (MS_LIKELY(e->key == key))
            return alloc_fast_at(t, p, req, kind, e->st, ra, fp);
    }
    return alloc_exact_entered(p, req, kind, NULL, ra, fp);
}

/* A greater depth: the site of the walk that a replay finds again. */
static inline __attribute__((always_inline)) void *
alloc_fast_deep(ms_thread_t *t, void *p, size_t req, ms_kind_t kind,
    void *ra, void *fp)
{
    if (MS_LIKELY(alloc_fast_may(t, req, kind))) {
        ms_replay_t *kept = ms_stack_replay(t, ra, fp);
        if (MS_LIKELY(kept != NULL && kept->st != NULL))
            return alloc_fast_at(t, p, req, kind, kept->st, ra, fp);
    }
    return alloc_exact_entered(p, req, kind, NULL, ra, fp);
}

/* An allocation hook, not in its common case (see alloc_hook). */
static __attribute__((noinline)) void *
alloc_hook_slow(void *p, size_t req, ms_kind_t kind, int flags, void *ra,
    void *fp)
{
    unsigned pre = (unsigned)kind & MS_KIND_PRE;
    kind = (ms_kind_t)((unsigned)kind & ~MS_KIND_PRE);
    if (ms_trace_on == MS_TRACE_EARLY || (ms_tls_busy && !ms_tls_quiet)) {
        /* before start-up, or made by libc for the tracer: remembered so
         * that its free is not taken for a heap error */
        ms_early_add((uintptr_t)p);
        ms_busy_alloc(p);
        return p;
    }
    int fresh = ms_tls_self == NULL;
    ms_thread_t *t = ms_hook_enter();
    if (t == NULL)
        return p;
    if (fresh && t->je_allocp != NULL)
        t->je_base_alloc -= ms_je_sallocx(p, 0);  /* counted before t */
    p = alloc_traced(t, p, req, kind, flags, 0, pre, ra, fp);
    ms_hook_leave();
    return p;
}

/* flags: how the engine made p (mallocx flags), kept when a sampled block
 * is moved; plain: made by malloc or calloc, flags then told by the kind
 * (and worked out only where needed). */
static inline __attribute__((always_inline)) void *
alloc_hook(void *p, size_t req, ms_kind_t kind, int flags, int plain,
    void *ra, void *fp)
{
    ms_thread_t *t = hook_enter_fast(1);
    if (MS_UNLIKELY(t == NULL)) {
        if (plain)
            flags = ((unsigned)kind & ~MS_KIND_PRE) == MS_KIND_CALLOC ?
                MS_JE_ZERO : 0;
        return alloc_hook_slow(p, req, kind, flags, ra, fp);
    }
    p = alloc_traced(t, p, req, (ms_kind_t)((unsigned)kind & ~MS_KIND_PRE),
        flags, plain, (unsigned)kind & MS_KIND_PRE, ra, fp);
    ms_hook_leave();
    return p;
}

/* Out of line: sampled mode, or a stack walk (see ms_trace_alloc). */
static __attribute__((noinline)) void *
alloc_hook_plain(void *p, size_t req, ms_kind_t kind, void *ra, void *fp)
{
    return alloc_hook(p, req, kind, 0, 1, ra, fp);
}

static __attribute__((noinline)) void *
alloc_hook_x(void *p, size_t req, ms_kind_t kind, int flags, void *ra,
    void *fp)
{
    return alloc_hook(p, req, kind, flags, 0, ra, fp);
}

/* Exact mode without a cap on events: alloc_fast (depth 1) or
 * alloc_fast_deep once entered and ticked, when the tick's slow part is
 * not due. flags: mallocx's (ignored in exact mode). */
static inline __attribute__((always_inline)) void *
alloc_hook_exact(void *p, size_t req, ms_kind_t kind, int flags, void *ra,
    void *fp, int deep)
{
    ms_thread_t *t = hook_enter_fast(1);
    if (MS_UNLIKELY(t == NULL))
        return alloc_hook_slow(p, req, kind, flags, ra, fp);
    int32_t left = t->tick_left;
    if (MS_UNLIKELY(left <= 0 || ((unsigned)kind & MS_KIND_PRE) != 0))
        return alloc_entered(p, req, kind, flags, ra, fp);
    t->tick_left = left - 1;
    return deep ? alloc_fast_deep(t, p, req, kind, ra, fp) :
        alloc_fast(t, p, req, kind, ra, fp);
}

/* Out of line, apart from the tests that send the other modes to
 * alloc_hook_plain or _x, so that those do not save the registers these
 * paths use. */
static __attribute__((noinline, optimize("optimize-sibling-calls"))) void *
alloc_hook_1(void *p, size_t req, ms_kind_t kind, int flags, void *ra,
    void *fp)
{
    return alloc_hook_exact(p, req, kind, flags, ra, fp, 0);
}

static __attribute__((noinline, optimize("optimize-sibling-calls"))) void *
alloc_hook_deep(void *p, size_t req, ms_kind_t kind, int flags, void *ra,
    void *fp)
{
    return alloc_hook_exact(p, req, kind, flags, ra, fp, 1);
}

/* Slow paths as tail calls: see ms_trace_free. */
__attribute__((optimize("optimize-sibling-calls"))) void *
ms_trace_alloc(void *p, size_t req, ms_kind_t kind, void *ra, void *fp)
{
    /* flags count in sampled mode only: none here */
    if (MS_UNLIKELY(!__atomic_load_n(&exact_depth1, __ATOMIC_RELAXED))) {
        if (__atomic_load_n(&exact_deep, __ATOMIC_RELAXED))
            return alloc_hook_deep(p, req, kind, 0, ra, fp);
        return alloc_hook_plain(p, req, kind, ra, fp);
    }
    return alloc_hook_1(p, req, kind, 0, ra, fp);
}

__attribute__((optimize("optimize-sibling-calls"))) void *
ms_trace_allocx(void *p, size_t req, ms_kind_t kind, int flags, void *ra,
    void *fp)
{
    if (MS_UNLIKELY(!__atomic_load_n(&exact_depth1, __ATOMIC_RELAXED)))
        return alloc_hook_x(p, req, kind, flags, ra, fp);
    return alloc_hook_1(p, req, kind, flags, ra, fp);
}

/* Sampled mode's estimates of a sampled block's free. */
static __attribute__((noinline)) void
sampled_free_estimate(ms_sitefree_t *f, uint64_t size)
{
    ms_siteext_t *x = ms_sitefree_ext(f);
    if (x == NULL) {
        ms_dropped();
        return;
    }
    double w = ms_sample_weight(size);
    x->est_freed_allocs += w;
    x->est_freed_bytes += w * (double)size;
}

/* Per-site statistics of a free of record r; lifetime from the record.
 * The free is its lifetime bucket's (a slot's frees are their sum). */
static inline __attribute__((always_inline)) void
account_site_free(ms_sitestat_t *st, const ms_rec_t *r, int temporary,
    int may_be_sampled, uint32_t now)
{
    ms_sitefree_t *f = ms_sites_free(st);
    if (MS_UNLIKELY(f == NULL)) {
        ms_dropped();
        return;
    }
    f->freed_bytes += r->size;
    f->freed_usable_bytes += code_usable[r->usable];
    f->temporaries += (uint64_t)temporary;
    if (may_be_sampled && MS_UNLIKELY(r->flags & MS_REC_SAMPLED))
        sampled_free_estimate(f, r->size);
    ms_sitefree_count(f, ms_life_bucket(now > r->time_ms ? now - r->time_ms :
        0));
}

void
ms_account_site_free(ms_sitestat_t *st, const ms_rec_t *r, int temporary,
    uint32_t now)
{
    account_site_free(st, r, temporary, 1, now);
}

void
ms_account_free_extras(const ms_rec_t *r, uint32_t task)
{
    if (task != 0)
        ms_task_account(task, -(int64_t)r->size, 0);
    if ((r->flags & MS_REC_VARIABLE) ||
        __atomic_load_n(&ms_vars_foreign, __ATOMIC_RELAXED) != 0)
        ms_variable_on_free(r->ptr);
}

/* C++'s kinds of blocks and of releases are two neighbours each. */
_Static_assert(MS_KIND_NEW_ARRAY == MS_KIND_NEW + 1, "new kinds");
_Static_assert(MS_FREE_DELETE_ARRAY == MS_FREE_DELETE + 1, "delete kinds");

/* Whether a release of kind how may end a block of kind k: the common
 * case (neither is C++'s) inline, the rest in heaperr.c. */
static inline int
kinds_match(unsigned k, ms_free_kind_t how)
{
    if (MS_LIKELY(k - MS_KIND_NEW > 1u &&
            (unsigned)how - MS_FREE_DELETE > 1u))
        return 1;
    return ms_kinds_match(k, how);
}

/* A free's site statistics when the record has flags, the slot a task, or
 * named blocks of other threads exist (see free_exact). */
static __attribute__((noinline)) void
free_exact_rare(ms_sitestat_t *st, ms_rec_t r, int temporary)
{
    account_site_free(st, &r, temporary, 1, ms_hook_clock_ms());
    if (st->task != 0 || (r.flags & MS_REC_VARIABLE) ||
        __atomic_load_n(&ms_vars_foreign, __ATOMIC_RELAXED) != 0)
        ms_account_free_extras(&r, st->task);
}

/* A release of the wrong kind (free of a new'd block, ...): a heap error,
 * and the block stays live. */
static __attribute__((noinline)) int
free_mismatch(ms_thread_t *t, uintptr_t p, ms_free_kind_t how, ms_rec_t r,
    void *ra, void *fp)
{
    ms_own_insert(t, &r);
    ms_heap_error(MS_HERR_MISMATCH, p, how, &r, t, t, ra, fp);
    return 1;
}

/* A free in exact mode of a block the thread's table does not hold:
 * another thread's, or none's. */
static __attribute__((noinline)) int
free_not_own(ms_thread_t *t, uintptr_t p, ms_free_kind_t how, void *ra,
    void *fp)
{
    ms_rec_t r;
    int rc = ms_foreign_free(t, p, &r, how, ra, fp);
    if (rc >= 0)
        return rc;
    return ms_unknown_free(t, p, how, ra, fp);
}

/* A free in exact mode; see ms_trace_free. */
static inline __attribute__((always_inline)) int
free_exact(ms_thread_t *t, uintptr_t p, ms_free_kind_t how, void *ra,
    void *fp)
{
    /* r's address goes to no function that is not inlined (the rare
     * paths take copies), so that its fields stay in registers */
    ms_rec_t r;
    if (MS_LIKELY(ms_own_remove(t, p, &r) == 0)) {
        if (MS_UNLIKELY(!kinds_match(r.kind, how)))
            return free_mismatch(t, p, how, r, ra, fp);
        t->frees++;
        t->kind_frees[how]++;
        ms_count_freed(t, r.size);
        ms_sitestat_t *st = ms_sites_at(&t->sites, r.site);
        ms_recent_add(t, p, st->stack);
        /* one test for all that is rare: flags, a task, other threads'
         * named blocks */
        if (MS_UNLIKELY((r.flags | st->task |
                __atomic_load_n(&ms_vars_foreign, __ATOMIC_RELAXED)) != 0))
            free_exact_rare(st, r, p == t->last_ptr);
        else
            account_site_free(st, &r, p == t->last_ptr, 0,
                ms_hook_clock_ms());
        return 0;
    }
    return free_not_own(t, p, how, ra, fp);
}

/* A free hook once entered, the tick not yet counted: the general path. */
static __attribute__((noinline)) int
free_entered(ms_thread_t *t, void *p, ms_free_kind_t kind, void *ra, void *fp)
{
    ms_tick(t, 0);
    int rc = ms_opt.sample == 0 ? free_exact(t, (uintptr_t)p, kind, ra, fp) :
        ms_sample_free(t, p, kind, ra, fp);
    ms_hook_leave();
    return rc;
}

/* An exact free that free_fast passed on, the tick counted. */
static __attribute__((noinline)) int
free_exact_entered(ms_thread_t *t, uintptr_t p, ms_free_kind_t kind, void *ra,
    void *fp)
{
    int rc = free_exact(t, p, kind, ra, fp);
    ms_hook_leave();
    return rc;
}

/* A free hook, not in its common case (see ms_trace_free). */
static __attribute__((noinline)) int
free_hook_slow(void *p, ms_free_kind_t kind, void *ra, void *fp)
{
    if (ms_trace_on == MS_TRACE_EARLY) {
        ms_early_take((uintptr_t)p);
        return 0;
    }
    ms_thread_t *t = ms_hook_enter();
    if (t == NULL) {
        ms_busy_free(p);
        return 0;
    }
    return free_entered(t, p, kind, ra, fp);
}

/*
 * free_exact's common case, entered and ticked: the thread's own block of
 * a plain kind, no flags, task or named blocks of other threads, its site
 * slot's free side made, its lifetime bucket not due to carry, its segment
 * not due to shrink, the live bytes' drift not due to flush, the table not locked (orphan). Everything is
 * tested before anything is written, and each other case goes on to
 * free_exact_entered as a tail call, so that this path calls nothing and
 * keeps its values in the registers a call would clobber (no callee-saved
 * registers to save).
 */
static inline __attribute__((always_inline)) int
free_fast(ms_thread_t *t, uintptr_t p, ms_free_kind_t how, void *ra, void *fp)
{
    __m128i c;
    int i;
    /* an exited thread's table first: others change it (locked), and a
     * look-up keeps the segment it found in the table's near entries */
    if (MS_UNLIKELY(t->inbox.orphan))
        goto slow;
    ms_tseg_t *s = ms_table_find_h(&t->table, p, &i, &c, 1);
    if (MS_UNLIKELY(s == NULL))
        goto slow;
    ms_rec_t r;
    ms_tseg_get_as(s, (unsigned)i, p & ~(uintptr_t)MS_TSLOT_OFF_MASK, &r,
        MS_TSLOT_NARROW);   /* narrow: ms_table_find_h's home look-up */
    /* neither is C++'s (kinds_match), no flags */
    if (MS_UNLIKELY((unsigned)r.kind - MS_KIND_NEW <= 1u ||
            (unsigned)how - MS_FREE_DELETE <= 1u || r.flags != 0))
        goto slow;
    ms_sitestat_t *st = ms_sites_at(&t->sites, r.site);
    ms_sitefree_t *f = st->free;
    int64_t live = t->live - (int64_t)r.size;
    int64_t drift = live - t->live_flushed;
    uint32_t now = ms_hook_clock_ms();
    size_t life = ms_life_bucket(now > r.time_ms ? now - r.time_ms : 0);
    if (MS_UNLIKELY(f == NULL || (st->task |
            __atomic_load_n(&ms_vars_foreign, __ATOMIC_RELAXED)) != 0 ||
            drift > MS_LIVE_FLUSH || drift < -MS_LIVE_FLUSH ||
            ms_tseg_shrinks(s) || ms_sitefree_carries(f, life)))
        goto slow;
    ms_table_take_h(&t->table, s, i, c);
    t->frees++;
    t->kind_frees[how]++;
    t->bytes_freed += r.size;
    t->live = live;
    ms_recent_add(t, p, st->stack);
    f->freed_bytes += r.size;
    f->freed_usable_bytes += code_usable[r.usable];
    f->temporaries += (uint64_t)(p == t->last_ptr);
    f->life[life]++;        /* below the carry: tested above */
    ms_hook_leave();
    return 0;
slow:
    return free_exact_entered(t, p, how, ra, fp);
}

/* Its slow paths are tail calls (the library is built without them: an
 * entry point's frame, FP(), must outlive the hook it calls; this frame
 * is not that one). */
__attribute__((optimize("optimize-sibling-calls"))) int
ms_trace_free(void *p, ms_free_kind_t kind, void *ra, void *fp)
{
    ms_thread_t *t = hook_enter_fast(0);
    if (MS_UNLIKELY(t == NULL))
        return free_hook_slow(p, kind, ra, fp);
    /* the tick's slow part, or sampled mode: the general path */
    int32_t left = t->tick_left;
    if (MS_UNLIKELY(left <= 0 || ms_opt.sample != 0))
        return free_entered(t, p, kind, ra, fp);
    t->tick_left = left - 1;
    return free_fast(t, (uintptr_t)p, kind, ra, fp);
}
