/*
 * heaperr.c - heap errors found, not caused (exact mode): a double free, a
 * free of a pointer this heap never returned or of an interior pointer,
 * and a release that does not match the allocation (free of new'ed memory,
 * delete of malloc'ed memory, delete[] of new'ed memory...). The bad call
 * is never passed to jemalloc; each error is kept with both stacks for the
 * reports, and MEMSCOPE_ABORT_ON_ERROR=1 prints it and aborts.
 *
 * Blocks allocated before the tracer started are remembered here too
 * (early), so that their frees are not taken for errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "fork.h"
#include "heaperr.h"
#include "export.h"
#include "../exporters/report.h"

_Static_assert(MS_KIND_COUNT == MS_REPORT_ALLOC_KINDS &&
    MS_FREE_COUNT == MS_REPORT_FREE_KINDS, "kind names follow trace.h");

#define EARLY_MAX 4096
#define ERR_MAX   1024

/* The early blocks: a set of at most EARLY_MAX pointers in twice as many
 * slots, open addressing, lock-free (a slot goes from empty to a pointer
 * by compare-and-swap, and from the pointer to EARLY_GONE when its block
 * is freed; it is never empty again, so a search may stop at an empty
 * slot). A free of an unknown pointer costs a probe or two, not a scan. */
#define EARLY_SLOTS (2 * EARLY_MAX)
#define EARLY_GONE  ((uintptr_t)1)

static uintptr_t early[EARLY_SLOTS];
static uint32_t nearly;             /* pointers added, or tried */
static pthread_mutex_t err_mu = PTHREAD_MUTEX_INITIALIZER;
static ms_herr_t errs[ERR_MAX];
static uint32_t nerrs;
static uint64_t dropped_errs;

static inline uint32_t
early_home(uintptr_t p)
{
    return (uint32_t)(((uint64_t)p * 0x9E3779B97F4A7C15ull) >> 51) &
        (EARLY_SLOTS - 1);
}

void
ms_early_add(uintptr_t p)
{
    if (p <= EARLY_GONE)
        return;
    if (__atomic_fetch_add(&nearly, 1, __ATOMIC_RELAXED) >= EARLY_MAX)
        return;                     /* overflowed: frees are then lenient */
    for (uint32_t i = early_home(p);; i = (i + 1) & (EARLY_SLOTS - 1)) {
        uintptr_t v = 0;
        if (__atomic_load_n(&early[i], __ATOMIC_RELAXED) == 0 &&
            __atomic_compare_exchange_n(&early[i], &v, p, 0,
                __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            return;
    }
}

int
ms_early_take(uintptr_t p)
{
    if (__atomic_load_n(&nearly, __ATOMIC_ACQUIRE) == 0)
        return -1;
    for (uint32_t i = early_home(p);; i = (i + 1) & (EARLY_SLOTS - 1)) {
        uintptr_t v = __atomic_load_n(&early[i], __ATOMIC_ACQUIRE);
        if (v == 0)
            return -1;
        if (v == p && __atomic_compare_exchange_n(&early[i], &v, EARLY_GONE,
                0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            return 0;
    }
}

int
ms_early_overflowed(void)
{
    return __atomic_load_n(&nearly, __ATOMIC_RELAXED) > EARLY_MAX;
}

/* Whether a release of the given kind matches how the block was made. */
int
ms_kinds_match(unsigned alloc_kind, ms_free_kind_t how)
{
    switch (alloc_kind) {
    case MS_KIND_NEW: return how == MS_FREE_DELETE;
    case MS_KIND_NEW_ARRAY: return how == MS_FREE_DELETE_ARRAY;
    default: return how != MS_FREE_DELETE && how != MS_FREE_DELETE_ARRAY;
    }
}

const char *
ms_herr_kind_name(int kind)
{
    switch (kind) {
    case MS_HERR_DOUBLE_FREE: return "double_free";
    case MS_HERR_INVALID_FREE: return "invalid_free";
    case MS_HERR_INTERIOR_FREE: return "interior_free";
    case MS_HERR_MISMATCH: return "mismatched_free";
    default: return "unknown";
    }
}

const char *
ms_alloc_kind_name(unsigned k)
{
    return ms_report_alloc_kind_name(k);
}

const char *
ms_free_kind_name(unsigned k)
{
    const char *n = ms_report_free_kind_name(k);
    return n ? n : "free";
}

void
ms_heap_error(int kind, uintptr_t addr, ms_free_kind_t how,
    const ms_rec_t *r, ms_thread_t *owner, ms_thread_t *t, void *ra, void *fp)
{
    ms_herr_t e = { .kind = kind, .addr = addr, .free_kind = how,
        .alloc_kind = r ? r->kind : 255, .thread = t ? t->id : 0,
        .t_ns = ms_now_precise_ns() - ms_start_ns };
    if (r != NULL && owner != NULL) {
        e.alloc_stack = ms_sites_stack_of(&owner->sites, r->site);
        e.block = r->ptr;
        e.size = r->size;
    }
    if (t != NULL) {
        uintptr_t frames[MS_MAX_FRAMES];
        uint64_t h;
        int n = ms_stack_walk(t, ra, fp, frames, &h);
        e.free_stack = ms_stack_intern(h, frames, n);
    }
    pthread_mutex_lock(&err_mu);
    if (nerrs < ERR_MAX)
        errs[nerrs++] = e;
    else
        dropped_errs++;
    pthread_mutex_unlock(&err_mu);
    if (ms_opt.abort_on_error) {
        const char *ak = ms_alloc_kind_name(e.alloc_kind);
        ms_log("heap error: %s of %p by %s%s%s (thread %u); aborting "
            "(MEMSCOPE_ABORT_ON_ERROR=1)", ms_herr_kind_name(kind),
            (void *)addr, ms_free_kind_name(how), ak ? " of a block made by " :
            "", ak ? ak : "", e.thread);
        ms_export_req_t req = { .trigger = MS_TRIGGER_HEAP_ERROR,
            .formats = ms_opt.formats & ~MEMSCOPE_FORMAT_HTML,
            .dir = ms_opt.out };
        ms_export(&req);
        abort();
    }
}

/* A heap error whose block is gone, its allocation stack known. */
void
ms_heap_error_stack(int kind, uintptr_t addr, ms_free_kind_t how,
    uint32_t alloc_stack, ms_thread_t *t, void *ra, void *fp)
{
    ms_heap_error(kind, addr, how, NULL, NULL, t, ra, fp);
    pthread_mutex_lock(&err_mu);
    if (nerrs > 0 && errs[nerrs - 1].addr == addr &&
        errs[nerrs - 1].alloc_stack == 0)
        errs[nerrs - 1].alloc_stack = alloc_stack;
    pthread_mutex_unlock(&err_mu);
}

uint32_t
ms_heap_errors_copy(ms_herr_t *out, uint32_t max, uint64_t *dropped)
{
    pthread_mutex_lock(&err_mu);
    uint32_t n = nerrs < max ? nerrs : max;
    memcpy(out, errs, n * sizeof(*out));
    *dropped = dropped_errs + (nerrs - n);
    pthread_mutex_unlock(&err_mu);
    return n;
}

/* fork: err_mu is held across it, so a child forked while another
 * thread records a heap error finds it free. */
static void fork_prepare(void) { pthread_mutex_lock(&err_mu); }
static void fork_parent(void) { pthread_mutex_unlock(&err_mu); }
static void fork_child(void) { pthread_mutex_init(&err_mu, NULL); }
MS_FORK_JOIN(MS_FORK_HEAPERR, fork_prepare, fork_parent, fork_child);
