/*
 * md.c - the markdown summary: one page a person reads in a terminal or on
 * a code host. CommonMark only (headings, lists, code spans, fenced code
 * blocks; no tables), so any CommonMark reader shows it the same way.
 *
 * Every figure comes from the report; one that was not measured (-1) says
 * "not measured", and per-site figures of a sampled run say they are
 * estimates. Names from the traced program go through md_out.c, which
 * makes them safe.
 *
 * One implementation writes to a file (ms_md_write) or into memory
 * (ms_md_render, for the HTML report, which shows it rendered).
 */
#include <stdio.h>
#include <string.h>

#include "export.h"
#include "md.h"
#include "md_out.h"
#include "report.h"
#include "writer.h"
#include "xalloc.h"

#define TOP_SITES   10
#define TOP_LEAKS   20
#define MAX_VARS    50
#define MAX_THREADS 100
#define MAX_TASKS   200
#define TASK_DEPTH  16

/* A rounded estimate; a huge or invalid one is clamped, not undefined. */
static uint64_t
est_round(double v)
{
    if (!(v > 0))
        return 0;
    return v >= 1.8e19 ? UINT64_MAX : (uint64_t)(v + 0.5);
}

/* A per-site figure: exact, or "~N" (rounded estimate) when sampled. */
static void
site_num(ms_md_out_t *o, uint64_t exact, double est, int is_bytes)
{
    if (!o->sampled) {
        if (is_bytes)
            ms_md_bytes(o, exact);
        else
            ms_md_putf(o, "%llu", (unsigned long long)exact);
        return;
    }
    uint64_t v = est_round(est);
    ms_md_putf(o, "~%llu", (unsigned long long)v);
    if (is_bytes) {
        ms_md_puts(o, " B");
        ms_md_human(o, (double)v);
    }
}

/* A per-site count and its noun, plural unless it is 1. */
static void
site_count(ms_md_out_t *o, uint64_t exact, double est, const char *noun)
{
    uint64_t v = o->sampled ? est_round(est) : exact;
    site_num(o, exact, est, 0);
    ms_md_putf(o, " %s%s", noun, v == 1 ? "" : "s");
}

/* ---- frames and sites ------------------------------------------------------ */

static int
alloc_wrapper(const char *f)
{
    static const char *exact[] = { "malloc", "calloc", "realloc", "free",
        "cfree", "reallocarray", "posix_memalign", "aligned_alloc",
        "memalign", "valloc", "pvalloc", "strdup", "strndup", "__strdup",
        "__strndup" };
    static const char *prefix[] = { "operator new", "operator delete",
        "_Znwm", "_Znam", "_ZdlPv", "_ZdaPv",
        "std::allocator", "std::__new_allocator", "__gnu_cxx::new_allocator",
        "std::allocator_traits", "std::__allocated_ptr" };
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
        if (strcmp(f, exact[i]) == 0)
            return 1;
    for (size_t i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++)
        if (strncmp(f, prefix[i], strlen(prefix[i])) == 0)
            return 1;
    return 0;
}

static const ms_rframe_t *
frame_at(const ms_report_t *r, const ms_rsite_t *s, uint64_t k)
{
    if (k >= s->depth || s->frames[k] >= r->nframes)
        return NULL;
    return &r->frames[s->frames[k]];
}

uint64_t
ms_md_first_of(const ms_report_t *r, const uint64_t *frames, uint64_t n)
{
    for (uint64_t k = 0; k < n; k++) {
        const ms_rframe_t *f = frames[k] < r->nframes ? &r->frames[frames[k]] : NULL;
        if (f != NULL && f->func != NULL && !alloc_wrapper(f->func))
            return k;
    }
    return 0;
}

uint64_t
ms_md_first_frame(const ms_report_t *r, const ms_rsite_t *s)
{
    return ms_md_first_of(r, s->frames, s->depth);
}

static const char *
base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* `func` at `file:line`; an address in a module when there is no name. */
static void
frame_ref(ms_md_out_t *o, const ms_rframe_t *f)
{
    char tmp[40];
    if (f == NULL) {
        ms_md_puts(o, "an unknown frame");
        return;
    }
    if (f->func != NULL) {
        ms_md_code(o, f->func, "");
    } else {
        snprintf(tmp, sizeof(tmp), "0x%llx", (unsigned long long)f->addr);
        ms_md_code(o, tmp, "");
        if (f->module != NULL) {
            ms_md_puts(o, " in ");
            ms_md_code(o, base_name(f->module), "");
        }
    }
    if (f->file != NULL) {
        if (f->line > 0)
            snprintf(tmp, sizeof(tmp), ":%lld", (long long)f->line);
        else
            tmp[0] = '\0';
        ms_md_puts(o, " at ");
        ms_md_code(o, f->file, tmp);
    }
}

/* The site's first meaningful frame, and its caller. */
static void
site_ref(ms_md_out_t *o, const ms_rsite_t *s)
{
    uint64_t m = ms_md_first_frame(o->r, s);
    frame_ref(o, frame_at(o->r, s, m));
    const ms_rframe_t *caller = frame_at(o->r, s, m + 1);
    if (caller != NULL) {
        ms_md_puts(o, ", called from ");
        frame_ref(o, caller);
    }
}

typedef double key_fn(const ms_md_out_t *, const ms_rsite_t *);

static double
key_live(const ms_md_out_t *o, const ms_rsite_t *s)
{
    return o->sampled ? s->est_live_bytes : (double)s->live_bytes;
}

static double
key_bytes(const ms_md_out_t *o, const ms_rsite_t *s)
{
    return o->sampled ? s->est_bytes : (double)s->bytes;
}

static double
key_temps(const ms_md_out_t *o, const ms_rsite_t *s)
{
    (void)o;
    return (double)s->temporaries;
}

/* Up to k site indexes with the largest positive keys, largest first
 * (ties: lower site id first); returns how many. */
static int
top_sites(const ms_md_out_t *o, key_fn *key, uint64_t *idx, int k)
{
    int n = 0;
    for (uint64_t i = 0; i < o->r->nsites; i++) {
        double v = key(o, &o->r->sites[i]);
        if (!(v > 0))
            continue;
        int j = n < k ? n++ : k;
        if (j == k && v <= key(o, &o->r->sites[idx[k - 1]]))
            continue;
        if (j == k)
            j = k - 1;
        while (j > 0 && key(o, &o->r->sites[idx[j - 1]]) < v) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
    return n;
}

/* ---- sections -------------------------------------------------------------- */

static void
header(ms_md_out_t *o)
{
    const ms_report_t *r = o->r;
    ms_md_puts(o, "# memscope report: ");
    ms_md_text(o, r->program, "(unknown program)");
    ms_md_puts(o, "\n\n- **Program:** ");
    ms_md_text(o, r->program, "unknown");
    ms_md_putf(o, ", pid %lld\n- **Mode:** ", (long long)r->pid);
    if (o->sampled)
        ms_md_putf(o, "sampled, one sample per %llu bytes on average: per-site "
            "figures are estimates (marked ~)\n",
            (unsigned long long)r->sample_interval);
    else
        ms_md_puts(o, "exact: every allocation is recorded\n");
    ms_md_puts(o, "- **Started:** ");
    ms_md_utc(o, r->start_unix_ns);
    ms_md_puts(o, "\n- **Duration:** ");
    ms_md_duration(o, r->duration_ns);
    ms_md_puts(o, "\n- **Trigger:** ");
    ms_md_text(o, r->trigger, "unknown");
    if (r->snapshot)
        ms_md_putf(o, " (snapshot %llu)", (unsigned long long)r->snapshot);
    ms_md_putf(o, "\n- **Call stacks:** up to %llu frames; byte figures count ",
        (unsigned long long)r->stack_depth);
    ms_md_text(o, r->byte_basis, "unknown");
    ms_md_puts(o, " bytes\n\n");
}

/* "- **what:** name n, name n" over the kinds with a count; nothing when
 * none has one (a report from before kinds were counted). */
static void
kinds(ms_md_out_t *o, const char *what, const uint64_t *v, int n,
    const char *(*name)(unsigned))
{
    int any = 0;
    for (int k = 0; k < n; k++) {
        if (v[k] == 0)
            continue;
        ms_md_putf(o, any ? ", " : "- **%s:** ", what);
        ms_md_code(o, name((unsigned)k), "");
        ms_md_putf(o, " %llu", (unsigned long long)v[k]);
        any = 1;
    }
    if (any)
        ms_md_puts(o, "\n");
}

static void
totals(ms_md_out_t *o)
{
    const ms_report_t *r = o->r;
    ms_md_puts(o, "## Totals\n\n");
    ms_md_putf(o, "- **Allocations:** %llu\n", (unsigned long long)r->allocs);
    ms_md_putf(o, "- **Frees:** %llu\n", (unsigned long long)r->frees);
    ms_md_putf(o, "- **Reallocations:** %llu\n", (unsigned long long)r->reallocs);
    kinds(o, "Allocations by kind", r->alloc_kinds, MS_REPORT_ALLOC_KINDS,
        ms_report_alloc_kind_name);
    kinds(o, "Frees by kind", r->free_kinds, MS_REPORT_FREE_KINDS,
        ms_report_free_kind_name);
    ms_md_puts(o, "- **Bytes allocated:** ");
    ms_md_bytes(o, r->bytes_allocated);
    ms_md_puts(o, "\n- **Bytes freed:** ");
    ms_md_bytes(o, r->bytes_freed);
    ms_md_puts(o, "\n- **Live:** ");
    ms_md_mbytes(o, r->live_bytes);
    ms_md_putf(o, " in %lld blocks\n- **Peak live:** ", (long long)r->live_blocks);
    ms_md_mbytes(o, r->peak_live_bytes);
    ms_md_puts(o, "\n- **RSS:** ");
    ms_md_mbytes(o, r->rss);
    ms_md_puts(o, "; peak ");
    ms_md_mbytes(o, r->peak_rss);
    ms_md_putf(o, "\n- **Sites:** %llu (distinct call stacks: %llu)\n",
        (unsigned long long)r->nsites, (unsigned long long)r->stacks);
    ms_md_putf(o, "- **Lost records:** %llu dropped events, %llu untracked frees, "
        "%llu dropped tasks\n\n", (unsigned long long)r->dropped_events,
        (unsigned long long)r->untracked_frees,
        (unsigned long long)r->dropped_tasks);
}

static void
site_list(ms_md_out_t *o, const char *title, key_fn *key)
{
    uint64_t idx[TOP_SITES];
    int n = top_sites(o, key, idx, TOP_SITES);
    ms_md_putf(o, "## %s%s\n\n", title, o->sampled ? " (estimates)" : "");
    if (n == 0) {
        ms_md_puts(o, "None.\n\n");
        return;
    }
    for (int i = 0; i < n; i++) {
        const ms_rsite_t *s = &o->r->sites[idx[i]];
        ms_md_putf(o, "%d. ", i + 1);
        site_ref(o, s);
        /* two spaces: a line break in HTML as in a terminal */
        ms_md_puts(o, "  \n   live ");
        site_num(o, s->live_bytes, s->est_live_bytes, 1);
        ms_md_puts(o, " in ");
        site_count(o, s->live_blocks, s->est_live_blocks, "block");
        ms_md_puts(o, "; allocated ");
        site_num(o, s->bytes, s->est_bytes, 1);
        ms_md_puts(o, " in ");
        site_count(o, s->allocs, s->est_allocs, "call");
        ms_md_putf(o, " (site %llu)\n", (unsigned long long)s->id);
    }
    ms_md_puts(o, "\n");
}

/* A fenced code block with the site's whole stack. */
static void
stack_block(ms_md_out_t *o, const ms_rsite_t *s)
{
    ms_md_puts(o, "```text\n");
    for (uint64_t k = 0; k < s->depth; k++) {
        const ms_rframe_t *f = frame_at(o->r, s, k);
        ms_md_putf(o, "#%-2llu ", (unsigned long long)k);
        if (f == NULL) {
            ms_md_puts(o, "?\n");
            continue;
        }
        if (f->func)
            ms_md_raw(o, f->func);
        else
            ms_md_putf(o, "0x%llx", (unsigned long long)f->addr);
        if (f->file) {
            ms_md_puts(o, "  ");
            ms_md_raw(o, f->file);
            if (f->line > 0)
                ms_md_putf(o, ":%lld", (long long)f->line);
        }
        if (f->module) {
            ms_md_puts(o, "  (");
            ms_md_raw(o, base_name(f->module));
            ms_md_puts(o, ")");
        }
        ms_md_puts(o, "\n");
    }
    ms_md_puts(o, "```\n\n");
}

static int
var_live(const ms_rvar_t *v)
{
    return v->address != 0 && v->status != NULL && strcmp(v->status, "freed") != 0;
}

static void
leak_site(ms_md_out_t *o, const ms_rsite_t *s)
{
    ms_md_puts(o, "### ");
    site_num(o, s->live_bytes, s->est_live_bytes, 1);
    ms_md_puts(o, " in ");
    site_count(o, s->live_blocks, s->est_live_blocks, "block");
    ms_md_puts(o, " from ");
    frame_ref(o, frame_at(o->r, s, ms_md_first_frame(o->r, s)));
    ms_md_puts(o, "\n\n");
    int nv = 0;
    for (uint64_t v = 0; v < o->r->nvars && nv <= MAX_VARS; v++) {
        const ms_rvar_t *var = &o->r->vars[v];
        if (var->site != s->id || !var_live(var))
            continue;
        ms_md_puts(o, nv++ ? ", " : "Variables: ");
        if (nv > MAX_VARS)
            ms_md_puts(o, "and more");
        else if (var->name && *var->name)
            ms_md_code(o, var->name, "");
        else
            ms_md_puts(o, "(unnamed)");
    }
    if (nv)
        ms_md_puts(o, "\n\n");
    stack_block(o, s);
}

static void
owners(ms_md_out_t *o, const ms_rvar_t *v)
{
    if (v->nowners == 0)
        return;
    ms_md_puts(o, "; owners: ");
    for (uint64_t k = 0; k < v->nowners; k++) {
        if (k)
            ms_md_puts(o, " -> ");
        if (v->owners[k].owner && *v->owners[k].owner)
            ms_md_code(o, v->owners[k].owner, "");
        else
            ms_md_puts(o, "(unnamed)");
    }
    if (v->dropped_owners)
        ms_md_putf(o, " (and %llu more not kept)",
            (unsigned long long)v->dropped_owners);
}

static void
leaked_vars(ms_md_out_t *o)
{
    int n = 0;
    for (uint64_t i = 0; i < o->r->nvars; i++) {
        const ms_rvar_t *v = &o->r->vars[i];
        if (v->status == NULL || strcmp(v->status, "leaked") != 0)
            continue;
        if (n++ == 0)
            ms_md_puts(o, "### Leaked variables\n\n");
        if (n > MAX_VARS) {
            ms_md_puts(o, "- and more (the HTML and JSON reports list them all)\n");
            break;
        }
        ms_md_puts(o, "- ");
        if (v->name && *v->name)
            ms_md_code(o, v->name, "");
        else
            ms_md_puts(o, "(unnamed)");
        ms_md_puts(o, " (");
        if (v->type && *v->type) {
            ms_md_code(o, v->type, "");
            ms_md_puts(o, ", ");
        }
        ms_md_bytes(o, v->size);
        ms_md_puts(o, ") made");
        if (v->func) {
            ms_md_puts(o, " in ");
            ms_md_code(o, v->func, "");
        }
        if (v->file) {
            char ln[32];
            snprintf(ln, sizeof(ln), ":%lld", (long long)v->line);
            ms_md_puts(o, " at ");
            ms_md_code(o, v->file, v->line > 0 ? ln : "");
        }
        owners(o, v);
        ms_md_puts(o, "\n");
    }
    if (n)
        ms_md_puts(o, "\n");
}

static void
leaks(ms_md_out_t *o)
{
    const ms_report_t *r = o->r;
    int at_exit = r->trigger != NULL && strcmp(r->trigger, "exit") == 0;
    uint64_t nsites = 0;
    for (uint64_t i = 0; i < r->nsites; i++)
        nsites += r->sites[i].live_blocks > 0;
    ms_md_puts(o, "## Leaks\n\n");
    ms_md_putf(o, "%lld blocks, ", (long long)r->live_blocks);
    ms_md_mbytes(o, r->live_bytes);
    ms_md_putf(o, ", %s in %llu sites.", at_exit ? "still live at exit" :
        "live when this report was taken", (unsigned long long)nsites);
    if (!at_exit)
        ms_md_puts(o, " The program was still running: a block is a leak only "
            "if it is still live at exit.");
    ms_md_puts(o, o->sampled ? " Per-site figures are estimates.\n\n" : "\n\n");
    uint64_t idx[TOP_LEAKS];
    int n = top_sites(o, key_live, idx, TOP_LEAKS);
    for (int i = 0; i < n; i++)
        leak_site(o, &r->sites[idx[i]]);
    if ((uint64_t)n < nsites)
        ms_md_putf(o, "And %llu more sites with live blocks (the HTML and JSON "
            "reports list them all).\n\n", (unsigned long long)(nsites - (uint64_t)n));
    leaked_vars(o);
}

/* The first meaningful frame of a heap error's stack, or nothing. */
static void
herr_frame(ms_md_out_t *o, const char *what, const uint64_t *frames,
    uint64_t n)
{
    if (n == 0)
        return;
    uint64_t k = ms_md_first_of(o->r, frames, n);
    ms_md_puts(o, what);
    frame_ref(o, frames[k] < o->r->nframes ? &o->r->frames[frames[k]] : NULL);
}

static void
heap_errors(ms_md_out_t *o)
{
    const ms_report_t *r = o->r;
    ms_md_puts(o, "## Heap errors\n\n");
    if (r->nheap_errors + r->dropped_heap_errors == 0) {
        ms_md_puts(o, "None found.\n\n");
        return;
    }
    ms_md_putf(o, "%llu found", (unsigned long long)(r->nheap_errors +
        r->dropped_heap_errors));
    if (r->dropped_heap_errors)
        ms_md_putf(o, "; the first %llu were kept",
            (unsigned long long)r->nheap_errors);
    ms_md_puts(o, ".\n\n");
    for (uint64_t i = 0; i < r->nheap_errors && i < TOP_LEAKS; i++) {
        const ms_rherr_t *e = &r->heap_errors[i];
        ms_md_putf(o, "%llu. ", (unsigned long long)i + 1);
        ms_md_code(o, e->kind ? e->kind : "unknown", "");
        ms_md_putf(o, " of `0x%llx`", (unsigned long long)e->address);
        if (e->block)
            ms_md_putf(o, " (in the %llu-byte block at `0x%llx`)",
                (unsigned long long)e->size, (unsigned long long)e->block);
        ms_md_putf(o, " on thread %llu at ", (unsigned long long)e->thread);
        ms_md_duration(o, e->t_ns);
        if (e->alloc_kind) {
            ms_md_puts(o, "; allocated with ");
            ms_md_code(o, e->alloc_kind, "");
        }
        if (e->free_kind) {
            ms_md_puts(o, "; freed with ");
            ms_md_code(o, e->free_kind, "");
        }
        if (e->nfree_frames || e->nalloc_frames)
            ms_md_puts(o, "  \n   ");
        herr_frame(o, "free in ", e->free_frames, e->nfree_frames);
        herr_frame(o, e->nfree_frames ? "; allocation in " : "allocation in ",
            e->alloc_frames, e->nalloc_frames);
        ms_md_puts(o, "\n");
    }
    if (r->nheap_errors > TOP_LEAKS)
        ms_md_putf(o, "\nAnd %llu more (the HTML and JSON reports list them "
            "all).\n", (unsigned long long)(r->nheap_errors - TOP_LEAKS));
    ms_md_puts(o, "\n");
}

static void
threads(ms_md_out_t *o)
{
    const ms_report_t *r = o->r;
    ms_md_puts(o, "## Threads\n\n");
    if (r->nthreads == 0)
        ms_md_puts(o, "None recorded.\n");
    for (uint64_t i = 0; i < r->nthreads && i < MAX_THREADS; i++) {
        const ms_rthread_t *t = &r->threads[i];
        ms_md_puts(o, "- ");
        ms_md_text(o, t->name, "(unnamed)");
        ms_md_putf(o, " (thread %llu, tid %lld, %s): %llu allocations, %llu frees, "
            "%llu reallocations; ", (unsigned long long)t->id,
            (long long)t->tid, t->exited ? "exited" : "running",
            (unsigned long long)t->allocs, (unsigned long long)t->frees,
            (unsigned long long)t->reallocs);
        ms_md_bytes(o, t->bytes_allocated);
        ms_md_puts(o, " allocated, ");
        ms_md_bytes(o, t->bytes_freed);
        ms_md_putf(o, " freed; live %s", t->live_bytes < 0 ? "-" : "");
        ms_md_bytes(o, t->live_bytes < 0 ? (uint64_t)0 - (uint64_t)t->live_bytes :
            (uint64_t)t->live_bytes);
        ms_md_puts(o, "\n");
    }
    if (r->nthreads > MAX_THREADS)
        ms_md_putf(o, "- and %llu more threads\n",
            (unsigned long long)(r->nthreads - MAX_THREADS));
    ms_md_puts(o, "\n");
}

/* A task's index by id; ids count from 1, so look there first. */
static int64_t
task_index(const ms_report_t *r, uint64_t id)
{
    if (id == 0)
        return -1;
    if (id <= r->ntasks && r->tasks[id - 1].id == id)
        return (int64_t)(id - 1);
    for (uint64_t i = 0; i < r->ntasks; i++)
        if (r->tasks[i].id == id)
            return (int64_t)i;
    return -1;
}

static void
task_line(ms_md_out_t *o, const ms_rtask_t *t, int depth)
{
    for (int d = 0; d < depth; d++)
        ms_md_puts(o, "  ");
    ms_md_puts(o, "- ");
    ms_md_text(o, t->name, "(unnamed)");
    ms_md_putf(o, " (task %llu, ", (unsigned long long)t->id);
    if (t->ended) {
        ms_md_puts(o, "ran ");
        ms_md_duration(o, t->end_ns > t->begin_ns ? t->end_ns - t->begin_ns : 0);
    } else {
        ms_md_puts(o, "running");
    }
    ms_md_puts(o, "): live ");
    ms_md_mbytes(o, t->live_bytes);
    ms_md_puts(o, ", peak ");
    ms_md_mbytes(o, t->peak_live_bytes);
    ms_md_putf(o, "; %llu allocations of ", (unsigned long long)t->allocs);
    ms_md_bytes(o, t->bytes);
    ms_md_putf(o, " in all, %llu frees\n", (unsigned long long)t->frees);
}

static void
task_tree(ms_md_out_t *o, uint64_t i, int depth)
{
    const ms_report_t *r = o->r;
    if (o->tasks_shown >= MAX_TASKS)
        return;
    o->tasks_shown++;
    task_line(o, &r->tasks[i], depth);
    if (depth + 1 >= TASK_DEPTH)
        return;
    for (uint64_t c = 0; c < r->ntasks; c++)
        if (c != i && r->tasks[c].parent == r->tasks[i].id)
            task_tree(o, c, depth + 1);
}

static void
tasks(ms_md_out_t *o)
{
    const ms_report_t *r = o->r;
    ms_md_puts(o, "## Tasks\n\n");
    if (r->ntasks == 0) {
        ms_md_puts(o, "None: the program began no task.\n\n");
        return;
    }
    for (uint64_t i = 0; i < r->ntasks; i++)
        if (task_index(r, r->tasks[i].parent) < 0)
            task_tree(o, i, 0);
    if (o->tasks_shown < (int)(r->ntasks < MAX_TASKS ? r->ntasks : MAX_TASKS))
        ms_md_putf(o, "\nSome tasks are not listed: nested deeper than %d levels, "
            "or in a loop of parents.\n", TASK_DEPTH);
    else if (r->ntasks > MAX_TASKS)
        ms_md_putf(o, "\n%llu more tasks are in the HTML and JSON reports.\n",
            (unsigned long long)(r->ntasks - MAX_TASKS));
    if (r->dropped_tasks)
        ms_md_putf(o, "\n%llu tasks were dropped (over the task limit).\n",
            (unsigned long long)r->dropped_tasks);
    ms_md_puts(o, "\n");
}

static void
temporaries(ms_md_out_t *o)
{
    uint64_t total = 0, idx[TOP_SITES];
    for (uint64_t i = 0; i < o->r->nsites; i++)
        total += o->r->sites[i].temporaries;
    ms_md_puts(o, "## Temporaries\n\n");
    ms_md_putf(o, "Blocks freed before their thread's next allocation: %llu%s.\n\n",
        (unsigned long long)total,
        o->sampled ? " (sampled blocks only)" : "");
    int n = top_sites(o, key_temps, idx, TOP_SITES);
    for (int i = 0; i < n; i++) {
        const ms_rsite_t *s = &o->r->sites[idx[i]];
        ms_md_putf(o, "%d. ", i + 1);
        site_ref(o, s);
        ms_md_putf(o, "  \n   %llu temporaries of %llu %s\n",
            (unsigned long long)s->temporaries, (unsigned long long)s->allocs,
            o->sampled ? "sampled allocations" : "allocations");
    }
    if (n)
        ms_md_puts(o, "\n");
}

static void
fragmentation(ms_md_out_t *o)
{
    const ms_report_t *r = o->r;
    ms_md_puts(o, "## Fragmentation\n\nFrom jemalloc's statistics at the time of "
        "the report.\n\n- **Allocated:** ");
    ms_md_mbytes(o, r->je_allocated);
    ms_md_puts(o, "\n- **Active:** ");
    ms_md_mbytes(o, r->je_active);
    ms_md_puts(o, "\n- **Fragmentation (1 - allocated/active):** ");
    if (r->je_active > 0 && r->je_allocated >= 0)
        ms_md_putf(o, "%.1f%%", 100.0 * (1.0 - (double)r->je_allocated /
            (double)r->je_active));
    else
        ms_md_puts(o, "not measured");
    ms_md_puts(o, "\n- **Resident:** ");
    ms_md_mbytes(o, r->je_resident);
    ms_md_puts(o, "\n- **Mapped:** ");
    ms_md_mbytes(o, r->je_mapped);
    ms_md_puts(o, "\n- **Retained:** ");
    ms_md_mbytes(o, r->je_retained);
    ms_md_puts(o, "\n\n");
}

static void
overhead(ms_md_out_t *o)
{
    const ms_report_t *r = o->r;
    ms_md_puts(o, "## Tracer overhead\n\n- **Tracer memory:** ");
    ms_md_bytes(o, r->tracer_overhead_bytes);
    ms_md_puts(o, "\n- **Side table:** ");
    ms_md_bytes(o, r->table_bytes);
    ms_md_putf(o, " for %llu tracked blocks\n- **Table bytes per tracked block:** ",
        (unsigned long long)r->tracked_blocks);
    if (r->tracked_blocks)
        ms_md_putf(o, "%.1f\n", (double)r->table_bytes / (double)r->tracked_blocks);
    else
        ms_md_puts(o, "not measured (no tracked blocks)\n");
}

static void
write_all(ms_md_out_t *o)
{
    o->sampled = o->r->sample_interval != 0;
    header(o);
    totals(o);
    site_list(o, "Top sites by live bytes", key_live);
    site_list(o, "Top sites by allocated bytes", key_bytes);
    leaks(o);
    heap_errors(o);
    threads(o);
    tasks(o);
    temporaries(o);
    fragmentation(o);
    overhead(o);
}

void
ms_md_write(ms_writer_t *w, const ms_report_t *r)
{
    ms_md_out_t o = { .w = w, .r = r };
    write_all(&o);
}

char *
ms_md_render(const ms_report_t *r, size_t *len)
{
    ms_md_out_t o = { .r = r };
    write_all(&o);
    if (o.err || o.buf == NULL) {
        ms_xfree(o.buf);
        return NULL;
    }
    *len = o.len;
    return o.buf;
}
