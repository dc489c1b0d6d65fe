/*
 * report.c - builds an ms_report_t of the running process: sums each
 * thread's counters and per-site statistics, names the frames, and copies
 * tasks, variables and the timeline. Runs with the re-entry guard set, so
 * what it allocates is the tracer's and never traced.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "api_state.h"
#include "heaperr.h"
#include "export.h"
#include "leaks.h"
#include "../exporters/report.h"
#include "../exporters/xalloc.h"

typedef struct {
    ms_rsite_t s;
    int used;
} acc_t;

static void
add_site(acc_t *a, const ms_sitestat_t *st, const ms_sitefree_view_t *f)
{
    a->used = 1;
    a->s.allocs += st->allocs;
    a->s.bytes += st->bytes;
    a->s.frees += f->frees;
    a->s.freed_bytes += f->freed_bytes;
    a->s.temporaries += f->temporaries;
    a->s.usable_bytes += st->usable_bytes;
    a->s.live_usable_bytes += st->usable_bytes - f->freed_usable_bytes;
    a->s.est_allocs += f->est_allocs;
    a->s.est_bytes += f->est_bytes;
    a->s.est_live_blocks += f->est_allocs - f->est_freed_allocs;
    a->s.est_live_bytes += f->est_bytes - f->est_freed_bytes;
    for (int b = 0; b < MS_LIFE_BUCKETS; b++)
        a->s.life[b] += f->life[b];
}

/* Sets k[0] to what k[1..n) leave of total, trimming them to it. */
static void
kind_rest(uint64_t *k, int n, uint64_t total)
{
    uint64_t left = total;
    for (int i = 1; i < n; i++) {
        if (k[i] > left)
            k[i] = left;
        left -= k[i];
    }
    k[0] = left;
}

static int64_t
status_field(const char *key)
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *p = strstr(buf, key);
    return p ? strtoll(p + strlen(key), NULL, 10) * 1024 : -1;
}

/* Frame table: address -> index, names from the symbol table. */
typedef struct {
    ms_report_t *r;
    ms_symtab_t *syms;
    uint64_t *keys, *idx, mask, cap_frames;
    /* by frame index, for an address's own frame (inline depth 0): how
     * many functions are inlined there, so that an address seen again
     * needs no symbol look-up (a deep program's sites share most of
     * their frames) */
    uint8_t *ninl;
    uint64_t *tmp;          /* a stack's indexes while it is made */
    uint64_t tmp_cap;
} frames_t;

/* The index of the frame at addr (dead: of that unloaded module, -1
 * none); k = 0 is the function itself, k > 0 the (k-1)th function inlined
 * there, innermost first. */
#define FRAME_HASH(key) ((key) * 0x9E3779B97F4A7C15ull >> 17)

/* Doubles the key table; 0, or -1 without memory (the table as it was). */
static int
frames_grow(frames_t *f)
{
    uint64_t mask = f->mask * 2 + 1;
    uint64_t *keys = ms_xcalloc((mask + 1) * sizeof(uint64_t));
    uint64_t *idx = ms_xmalloc((mask + 1) * sizeof(uint64_t));
    if (keys == NULL || idx == NULL) {
        ms_xfree(keys);
        ms_xfree(idx);
        return -1;
    }
    for (uint64_t j = 0; j <= f->mask; j++) {
        if (f->keys[j] == 0)
            continue;
        uint64_t i = FRAME_HASH(f->keys[j]) & mask;
        while (keys[i] != 0)
            i = (i + 1) & mask;
        keys[i] = f->keys[j];
        idx[i] = f->idx[j];
    }
    ms_xfree(f->keys);
    ms_xfree(f->idx);
    f->keys = keys;
    f->idx = idx;
    f->mask = mask;
    return 0;
}

/* keys: addresses are below 2^47; an unloaded module's index (below
 * 2047: unwind.c keeps 1024) and the inline depth (below 64) tag them
 * apart above, each exactly */
static inline uint64_t
frame_key(uint64_t addr, int dead, int k)
{
    return addr | (uint64_t)(dead >= 0 ? (dead + 1) & 0x7ff : 0) << 47 |
        (uint64_t)k << 58;
}

/* The index of the frame of key, or UINT64_MAX when there is none yet;
 * *slot: where it is or would go. */
static uint64_t
frame_find(const frames_t *f, uint64_t key, uint64_t *slot)
{
    uint64_t i = FRAME_HASH(key) & f->mask;
    while (f->keys[i] != 0) {
        if (f->keys[i] == key)
            return f->idx[i];
        i = (i + 1) & f->mask;
    }
    *slot = i;
    return UINT64_MAX;
}

static uint64_t
frame_index(frames_t *f, uint64_t addr, int dead, int k)
{
    uint64_t key = frame_key(addr, dead, k), i = 0;
    uint64_t found = frame_find(f, key, &i);
    if (found != UINT64_MAX)
        return found;
    ms_report_t *r = f->r;
    if ((r->nframes + 1) * 2 > f->mask) {   /* half full: grown */
        if (frames_grow(f) != 0)
            return UINT64_MAX;
        i = FRAME_HASH(key) & f->mask;
        while (f->keys[i] != 0)
            i = (i + 1) & f->mask;
    }
    if (r->nframes == f->cap_frames) {
        uint64_t nc = f->cap_frames ? f->cap_frames * 2 : 256;
        ms_rframe_t *n = ms_xrealloc(r->frames, nc * sizeof(*n));
        if (n == NULL)
            return UINT64_MAX;
        r->frames = n;
        uint8_t *c = ms_xrealloc(f->ninl, nc);
        if (c == NULL)
            return UINT64_MAX;
        f->ninl = c;
        f->cap_frames = nc;
    }
    ms_rframe_t *fr = &r->frames[r->nframes];
    const ms_sym_t *s = ms_symtab_lookup(f->syms, addr, dead);
    fr->addr = addr;
    fr->offset = s->offset;
    fr->module = ms_xstrdup(s->module);
    fr->build_id = ms_xstrdup(s->build_id);
    f->ninl[r->nframes] = (uint8_t)s->ninl;     /* at most 32 */
    if (k > 0 && k <= s->ninl) {
        fr->func = ms_xstrdup(s->inl[k - 1].func);
        fr->file = ms_xstrdup(s->inl[k - 1].file);
        fr->line = s->inl[k - 1].line;
        fr->flags = MS_RFRAME_INLINED;
    } else {
        fr->func = ms_xstrdup(s->func);
        fr->file = ms_xstrdup(s->file);
        fr->line = s->line;
        fr->flags = 0;
    }
    f->keys[i] = key;
    f->idx[i] = r->nframes;
    return r->nframes++;
}

/* Appends ix to f->tmp (n so far); -1 without memory. */
static int
tmp_push(frames_t *f, uint64_t n, uint64_t ix)
{
    if (n == f->tmp_cap) {
        uint64_t nc = f->tmp_cap ? f->tmp_cap * 2 : 256;
        uint64_t *t = ms_xrealloc(f->tmp, nc * sizeof(*t));
        if (t == NULL)
            return -1;
        f->tmp = t;
        f->tmp_cap = nc;
    }
    f->tmp[n] = ix;
    return 0;
}

/* Appends the frame indexes of addr (of unloaded module dead, -1 none)
 * to f->tmp after n: functions inlined there first, innermost first, then
 * the function itself. Returns the new count, or UINT64_MAX without
 * memory (f->tmp then holds n + what fitted). */
static uint64_t
addr_frames(frames_t *f, uint64_t n, uintptr_t addr, int dead)
{
    uint64_t slot;
    uint64_t own = frame_find(f, frame_key(addr, dead, 0), &slot);
    int ninl = own != UINT64_MAX ? f->ninl[own] :
        ms_symtab_lookup(f->syms, addr, dead)->ninl;
    for (int j = ninl; j >= 0; j--) {
        uint64_t ix = j == 0 && own != UINT64_MAX ? own :
            frame_index(f, addr, dead, j == 0 ? 0 : ninl - j + 1);
        if (ix == UINT64_MAX || tmp_push(f, n++, ix) != 0)
            return UINT64_MAX;
    }
    return n;
}

/* Frame indexes of stack id into *out (allocated); returns the depth.
 * Functions inlined at an address come before it, each a frame. */
static uint64_t
stack_frames(frames_t *f, uint32_t id, uint64_t **out)
{
    uintptr_t fr[MS_MAX_FRAMES];
    int d = ms_stack_frames(id, fr, MS_MAX_FRAMES);
    uint32_t epoch = ms_stack_epoch(id);
    uint64_t n = 0;
    for (int k = 0; k < d; k++) {
        const char *path;
        uintptr_t bias;
        int dead = ms_dead_module_at(fr[k], epoch, &path, &bias);
        uint64_t m = addr_frames(f, n, fr[k], dead);
        if (m == UINT64_MAX)
            break;      /* without memory: the frames so far */
        n = m;
    }
    *out = ms_xmalloc((size_t)(n ? n : 1) * sizeof(uint64_t));
    if (*out == NULL)
        return 0;
    if (n)
        memcpy(*out, f->tmp, (size_t)n * sizeof(uint64_t));
    return n;
}

/* ---- rows: the sites by (stack, allocating thread, task) ---------------- */

/* Open addressing over r->rows while they are made: key -> index + 1;
 * row.site holds the stack id until the rows are sorted. */
typedef struct {
    ms_rrow_t *rows;
    uint64_t n, cap;
    uint64_t *slot, mask;
    int oom;
} rowmap_t;

static uint64_t
row_hash(uint64_t stack, uint64_t thread, uint64_t task)
{
    uint64_t h = (stack ^ thread << 32 ^ task * 0xC2B2AE3D27D4EB4Full) *
        0x9E3779B97F4A7C15ull;
    return h ^ (h >> 31);
}

static int
rowmap_grow(rowmap_t *m)
{
    uint64_t cap = m->cap ? m->cap * 2 : 1024;
    ms_rrow_t *rows = ms_xrealloc(m->rows, (size_t)cap * sizeof(*rows));
    if (rows == NULL)
        return -1;
    m->rows = rows;
    m->cap = cap;
    uint64_t mask = cap * 2 - 1;
    uint64_t *slot = ms_xcalloc((size_t)(mask + 1) * sizeof(*slot));
    if (slot == NULL)
        return -1;
    for (uint64_t i = 0; i < m->n; i++) {
        const ms_rrow_t *w = &m->rows[i];
        uint64_t j = row_hash(w->site, w->thread, w->task) & mask;
        while (slot[j] != 0)
            j = (j + 1) & mask;
        slot[j] = i + 1;
    }
    ms_xfree(m->slot);
    m->slot = slot;
    m->mask = mask;
    return 0;
}

/* The row of (stack, thread, task), made zeroed on first use; NULL
 * without memory. */
static ms_rrow_t *
rowmap_get(rowmap_t *m, uint64_t stack, uint64_t thread, uint64_t task)
{
    if (m->oom)
        return NULL;
    if (m->n == m->cap && rowmap_grow(m) != 0) {
        m->oom = 1;
        return NULL;
    }
    uint64_t j = row_hash(stack, thread, task) & m->mask;
    for (; m->slot[j] != 0; j = (j + 1) & m->mask) {
        ms_rrow_t *w = &m->rows[m->slot[j] - 1];
        if (w->site == stack && w->thread == thread && w->task == task)
            return w;
    }
    ms_rrow_t *w = &m->rows[m->n++];
    memset(w, 0, sizeof(*w));
    w->site = stack;
    w->thread = thread;
    w->task = task;
    m->slot[j] = m->n;
    return w;
}

static int
row_before(const void *x, const void *y, void *ctx)
{
    const ms_rrow_t *a = x, *b = y;
    (void)ctx;
    if (a->site != b->site)
        return a->site < b->site;
    if (a->thread != b->thread)
        return a->thread < b->thread;
    return a->task < b->task;
}

static void
add_row(ms_rrow_t *w, const ms_sitestat_t *st, const ms_sitefree_view_t *f)
{
    w->allocs += st->allocs;
    w->bytes += st->bytes;
    w->frees += f->frees;
    w->freed_bytes += f->freed_bytes;
    w->est_allocs += f->est_allocs;
    w->est_bytes += f->est_bytes;
    w->est_live_blocks += f->est_allocs - f->est_freed_allocs;
    w->est_live_bytes += f->est_bytes - f->est_freed_bytes;
}

/* The sites and rows of the threads from first (the registry as the
 * report's thread rows read it), of the stacks interned so far. */
static void
build_sites(ms_report_t *r, frames_t *fp, ms_thread_t *first)
{
    uint32_t nst = ms_stacks_count() + 1;
    r->stacks = nst - 1;    /* no site of a later stack is counted */
    acc_t *acc = ms_xcalloc((size_t)nst * sizeof(*acc));
    uint64_t *site_ix = ms_xcalloc((size_t)nst * sizeof(*site_ix));
    rowmap_t m;
    memset(&m, 0, sizeof(m));
    if (acc == NULL || site_ix == NULL)
        goto out;
    for (ms_thread_t *t = first; t != NULL; t = t->next) {
        for (ms_sitechunk_t *c = __atomic_load_n(&t->sites.head,
                 __ATOMIC_ACQUIRE); c != NULL;
             c = __atomic_load_n(&c->next, __ATOMIC_ACQUIRE)) {
            uint32_t n = __atomic_load_n(&c->n, __ATOMIC_ACQUIRE);
            for (uint32_t i = 0; i < n; i++) {
                /* one read of the statistics, for the site and its row:
                 * the frees first, so that the owner's allocations read
                 * after them count every block they count freed (a site
                 * read the other way round could free more blocks than
                 * it made) */
                ms_sitefree_view_t f;
                ms_sitefree_read(__atomic_load_n(&c->s[i].free,
                    __ATOMIC_ACQUIRE), &f);
                __atomic_thread_fence(__ATOMIC_ACQUIRE);
                ms_sitestat_t st = c->s[i];
                /* 0: no stack (the stack table was out of room) */
                if (st.stack == 0 || st.stack >= nst)
                    continue;
                add_site(&acc[st.stack], &st, &f);
                ms_rrow_t *w = rowmap_get(&m, st.stack,
                    st.owner ? st.owner : t->id, st.task);
                if (w != NULL)
                    add_row(w, &st, &f);
            }
        }
    }
    uint64_t used = 0;
    for (uint32_t id = 1; id < nst; id++)
        used += acc[id].used;
    r->sites = ms_xcalloc((used ? used : 1) * sizeof(*r->sites));
    /* the caller's: the heap errors add their frames to it after (a copy
     * made here would miss the growth of the arrays) */
    frames_t *f = fp;
    *f = (frames_t){ .r = r, .syms = ms_symtab_new() };
    /* grown as frames come (frames_grow): sized for the stacks' frames
     * at once, a short process's report touched megabytes of zeroes, a
     * page fault for nearly every frame */
    f->mask = 4095;
    f->keys = ms_xcalloc((f->mask + 1) * sizeof(uint64_t));
    f->idx = ms_xcalloc((f->mask + 1) * sizeof(uint64_t));
    if (r->sites == NULL || f->keys == NULL || f->idx == NULL)
        goto out;
    for (uint32_t id = 1; id < nst; id++) {
        if (!acc[id].used)
            continue;
        site_ix[id] = r->nsites;
        ms_rsite_t *s = &r->sites[r->nsites++];
        *s = acc[id].s;
        s->id = id;
        /* frees by other threads are read from their own slots, before
         * or after the allocations: a site freed elsewhere as it is read
         * may count more freed than made for a moment; never less than
         * nothing live */
        s->live_blocks = s->allocs > s->frees ? s->allocs - s->frees : 0;
        s->live_bytes = s->bytes > s->freed_bytes ? s->bytes - s->freed_bytes : 0;
        if (s->live_usable_bytes > s->usable_bytes)     /* summed below 0 */
            s->live_usable_bytes = 0;
        if (s->est_live_blocks < 0)
            s->est_live_blocks = 0;
        if (s->est_live_bytes < 0)
            s->est_live_bytes = 0;
        s->depth = stack_frames(f, id, &s->frames);
    }
    /* rows only when every site has all of its own: a report never holds
     * rows that do not sum to their sites */
    if (!m.oom) {
        ms_report_sort(m.rows, m.n, sizeof(*m.rows), row_before, NULL);
        for (uint64_t i = 0; i < m.n; i++)
            m.rows[i].site = site_ix[m.rows[i].site];
        r->rows = m.rows;
        r->nrows = m.n;
        m.rows = NULL;
    }
out:
    ms_xfree(m.rows);
    ms_xfree(m.slot);
    ms_xfree(site_ix);
    ms_xfree(acc);
}

static void
build_errors(ms_report_t *r, frames_t *f)
{
    enum { MAX = 1024 };
    ms_herr_t *e = ms_xmalloc(MAX * sizeof(*e));
    if (e == NULL)
        return;
    uint32_t n = ms_heap_errors_copy(e, MAX, &r->dropped_heap_errors);
    r->heap_errors = ms_xcalloc((n ? n : 1) * sizeof(*r->heap_errors));
    for (uint32_t i = 0; r->heap_errors && f->keys && f->idx && i < n; i++) {
        ms_rherr_t *d = &r->heap_errors[r->nheap_errors++];
        d->kind = ms_xstrdup(ms_herr_kind_name(e[i].kind));
        d->alloc_kind = ms_xstrdup(ms_alloc_kind_name(e[i].alloc_kind));
        d->free_kind = ms_xstrdup(ms_free_kind_name(e[i].free_kind));
        d->address = e[i].addr;
        d->block = e[i].block;
        d->size = e[i].size;
        d->thread = e[i].thread;
        d->t_ns = e[i].t_ns;
        d->nalloc_frames = stack_frames(f, e[i].alloc_stack, &d->alloc_frames);
        d->nfree_frames = stack_frames(f, e[i].free_stack, &d->free_frames);
    }
    ms_xfree(e);
}

static const char *
var_status(const ms_var_rec_t *v, int at_exit)
{
    switch (v->status) {
    case MS_VAR_FREED: return "freed";
    case MS_VAR_VALUE: return "value";
    case MS_VAR_TRANSFERRED: return at_exit ? "leaked" : "transferred";
    default: return at_exit ? "leaked" : "live";
    }
}

static void
copy_api(ms_report_t *r, int at_exit)
{
    ms_api_copy_t c;
    ms_api_copy(&c);
    r->dropped_tasks = c.dropped_tasks;
    r->tasks = ms_xcalloc((c.ntasks ? c.ntasks : 1) * sizeof(*r->tasks));
    r->vars = ms_xcalloc((c.nvars ? c.nvars : 1) * sizeof(*r->vars));
    if (r->tasks == NULL || r->vars == NULL)
        goto out;
    for (uint32_t i = 0; i < c.ntasks; i++) {
        ms_task_rec_t *s = &c.tasks[i];
        ms_rtask_t *d = &r->tasks[r->ntasks++];
        d->id = s->id;
        d->parent = s->parent;
        d->name = ms_xstrdup(s->name);
        d->ended = (uint64_t)s->ended;
        d->threads_seen = s->threads_seen;
        d->begin_ns = s->begin_ns > ms_start_ns ? s->begin_ns - ms_start_ns : 0;
        d->end_ns = s->ended && s->end_ns > ms_start_ns ?
            s->end_ns - ms_start_ns : 0;
        d->allocs = s->allocs;
        d->frees = s->frees;
        d->bytes = s->bytes;
        d->freed_bytes = s->freed_bytes;
        d->live_bytes = s->live;
        d->peak_live_bytes = s->peak;
    }
    for (uint32_t i = 0; i < c.nvars; i++) {
        ms_var_rec_t *s = &c.vars[i];
        ms_rvar_t *d = &r->vars[r->nvars++];
        d->id = s->id;
        d->address = s->ptr;
        d->name = ms_xstrdup(s->name);
        d->type = ms_xstrdup(s->type);
        d->file = ms_xstrdup(s->file);
        d->func = ms_xstrdup(s->func);
        d->value = ms_xstrdup(s->value);
        d->line = s->line;
        d->size = s->size;
        d->elem_size = s->elem_size;
        d->count = s->count;
        d->owned = (uint64_t)s->owned;
        d->status = ms_xstrdup(var_status(s, at_exit));
        d->thread = s->thread;
        d->task = s->task;
        d->site = s->stack;
        d->created_ns = s->created_ns > ms_start_ns ?
            s->created_ns - ms_start_ns : 0;
        d->freed_ns = s->freed_ns > ms_start_ns ? s->freed_ns - ms_start_ns : 0;
        d->dropped_owners = s->dropped_owners;
        if (s->nowners > 0) {
            d->owners = ms_xcalloc((size_t)s->nowners * sizeof(*d->owners));
            if (d->owners == NULL)
                continue;
            for (int k = 0; k < s->nowners; k++) {
                d->owners[k].owner = ms_xstrdup(s->owners[k].owner);
                d->owners[k].t_ns = s->owners[k].t_ns > ms_start_ns ?
                    s->owners[k].t_ns - ms_start_ns : 0;
            }
            d->nowners = (uint64_t)s->nowners;
        }
    }
out:
    ms_api_copy_free(&c);
}

ms_report_t *
ms_report_build(const ms_export_req_t *req)
{
    uint64_t overhead = ms_arena_allocated();
    ms_report_t *r = ms_xcalloc(sizeof(*r));
    if (r == NULL)
        return NULL;
    int at_exit = req->trigger == MS_TRIGGER_EXIT;
    r->program = ms_xstrdup(program_invocation_short_name);
    r->pid = getpid();
    r->mode = ms_xstrdup(ms_opt.sample ? "sampled" : "exact");
    r->sample_interval = ms_opt.sample;
    r->stack_depth = (uint64_t)ms_opt.stack_depth;
    r->trigger = ms_xstrdup(ms_trigger_name(req->trigger));
    r->snapshot = req->snapshot;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = ms_now_precise_ns();
    r->duration_ns = now - ms_start_ns;
    r->start_unix_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec -
        r->duration_ns;
    r->clock_resolution_ns = ms_clock_resolution_ns();
    r->timeline_interval_ns = ms_opt.test_mode ? 0 : ms_timeline_interval_ns();
    r->byte_basis = ms_xstrdup(ms_opt.sample ? "usable" : "requested");

    ms_threads_refresh_names();
    /* The registry only grows at its head: the threads from one read of
     * it are counted and listed, while others may start (read again, it
     * would list one more than was counted) */
    ms_thread_t *first = ms_threads_head();
    uint32_t nth = 0;
    for (ms_thread_t *t = first; t != NULL; t = t->next)
        nth++;
    r->threads = ms_xcalloc((nth ? nth : 1) * sizeof(*r->threads));
    for (ms_thread_t *t = first; t != NULL && r->threads; t = t->next) {
        /* the registry is newest first; list threads oldest first */
        ms_rthread_t *d = &r->threads[nth - 1 - r->nthreads++];
        d->id = t->id;
        d->tid = t->tid;
        d->name = ms_xstrdup(__atomic_load_n(&t->name_set, __ATOMIC_ACQUIRE) ?
            t->name : t->comm);
        d->exited = (uint64_t)t->exited;
        /* kinds read before the totals they are part of */
        for (int k = 1; k < MS_REPORT_ALLOC_KINDS; k++)
            r->alloc_kinds[k] += __atomic_load_n(&t->kind_allocs[k],
                __ATOMIC_RELAXED);
        for (int k = 1; k < MS_REPORT_FREE_KINDS; k++)
            r->free_kinds[k] += __atomic_load_n(&t->kind_frees[k],
                __ATOMIC_RELAXED);
        d->allocs = __atomic_load_n(&t->allocs, __ATOMIC_RELAXED);
        d->frees = __atomic_load_n(&t->frees, __ATOMIC_RELAXED);
        d->reallocs = __atomic_load_n(&t->reallocs, __ATOMIC_RELAXED);
        d->bytes_allocated = ms_thread_bytes_alloc(t);
        d->bytes_freed = ms_thread_bytes_freed(t);
        d->live_bytes = (int64_t)(d->bytes_allocated - d->bytes_freed);
        r->allocs += d->allocs;
        r->frees += d->frees;
        r->reallocs += d->reallocs;
        r->bytes_allocated += d->bytes_allocated;
        r->bytes_freed += d->bytes_freed;
        r->live_bytes += d->live_bytes;
        for (int b = 0; b < MS_SIZE_BUCKETS; b++)
            r->size_hist[b] += t->size_hist[b];
        r->table_bytes += ms_table_bytes(&t->table);
        /* less those freed by other threads, waiting in its inbox */
        uint64_t held = __atomic_load_n(&t->table.count, __ATOMIC_RELAXED),
            freed = __atomic_load_n(&t->inbox.n, __ATOMIC_RELAXED);
        r->tracked_blocks += held > freed ? held - freed : 0;
    }
    r->live_blocks = (int64_t)(r->allocs - r->frees);
    /* malloc and free are what the other kinds leave (fast.h counts no
     * kind); the other kinds may not exceed the totals read after them */
    kind_rest(r->alloc_kinds, MS_REPORT_ALLOC_KINDS, r->allocs);
    kind_rest(r->free_kinds, MS_REPORT_FREE_KINDS, r->frees);
    int64_t peak = __atomic_load_n(&ms_global_peak, __ATOMIC_RELAXED);
    r->peak_live_bytes = peak > r->live_bytes ? peak : r->live_bytes;
    r->dropped_events = __atomic_load_n(&ms_dropped_events, __ATOMIC_RELAXED);
    r->untracked_frees = __atomic_load_n(&ms_untracked_frees, __ATOMIC_RELAXED);
    r->stacks = ms_stacks_count();     /* build_sites reads it again */
    r->tracer_overhead_bytes = overhead;

    frames_t frames;
    memset(&frames, 0, sizeof(frames));
    build_sites(r, &frames, first);
    build_errors(r, &frames);
    ms_xfree(frames.keys);
    ms_xfree(frames.idx);
    ms_xfree(frames.ninl);
    ms_xfree(frames.tmp);
    ms_symtab_free(frames.syms);
    for (uint64_t i = 0; i < r->nsites; i++)
        for (int b = 0; b < MS_LIFE_BUCKETS; b++)
            r->life_hist[b] += r->sites[i].life[b];
    copy_api(r, at_exit);
    /* sampled: the table holds only the sampled blocks, whose pointers the
     * others hold: not measured. At exit in place; asked for in a
     * snapshot, in a copy of the process, whose threads run on */
    if (!ms_opt.sample && ((at_exit && ms_opt.leak_check) || req->leaks))
        ms_leaks_scan(r, !at_exit);
    /* MEMSCOPE_SUPPRESSIONS: a file that cannot be used warns once, and
     * the reports come without it */
    static int warned_supp;
    char err[1200];
    if (ms_opt.suppressions[0] != '\0') {
        if (ms_report_supp_load(r, ms_opt.suppressions, err, sizeof(err)) == 0)
            ms_report_suppress(r);
        else
            ms_warn_once(&warned_supp, "MEMSCOPE_SUPPRESSIONS: %s; the "
                "reports list every leak", err);
    }

    size_t cap = 4096 + 1;
    ms_tl_point_t *pts = ms_xmalloc(cap * sizeof(*pts));
    if (pts != NULL) {
        size_t n = ms_timeline_copy(pts, cap - 1);
        /* and one point now, so a run shorter than the interval has one */
        if (ms_opt.interval_ms > 0 && !ms_opt.test_mode) {
            while (n > 0 && pts[n - 1].t_ns > r->duration_ns)
                n--;
            ms_timeline_sample(&pts[n]);
            pts[n].t_ns = r->duration_ns;
            n++;
        }
        r->timeline = ms_xcalloc((n ? n : 1) * sizeof(*r->timeline));
        if (r->timeline != NULL) {
            /* points taken after this report began show the export's own
             * work (symbol look-ups), not the program's: left out */
            while (n > 0 && pts[n - 1].t_ns > r->duration_ns)
                n--;
            memcpy(r->timeline, pts, n * sizeof(*pts));
            r->ntimeline = n;
        }
        ms_xfree(pts);
    }
    r->rss = status_field("VmRSS:");
    r->peak_rss = status_field("VmHWM:");
    ms_je_stats(&r->je_allocated, &r->je_active, &r->je_resident,
        &r->je_mapped, &r->je_retained);
    return r;
}
