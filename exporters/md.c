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

/* A per-site figure: exact, or "~N" (rounded estimate) when sampled. */
static void
site_num(ms_md_out_t *o, uint64_t exact, double est, int is_bytes)
{
    if (!o->sampled) {
        if (is_bytes)
            ms_md_bytes(o, exact);
        else
            ms_w_fmt(o->w, "%llu", (unsigned long long)exact);
        return;
    }
    uint64_t v = ms_report_est(est);
    ms_w_fmt(o->w, "~%llu", (unsigned long long)v);
    if (is_bytes) {
        ms_w_str(o->w, " B");
        ms_md_human(o, (double)v);
    }
}

/* A per-site count and its noun, plural unless it is 1. */
static void
site_count(ms_md_out_t *o, uint64_t exact, double est, const char *noun)
{
    uint64_t v = o->sampled ? ms_report_est(est) : exact;
    site_num(o, exact, est, 0);
    ms_w_fmt(o->w, " %s%s", noun, v == 1 ? "" : "s");
}

/* ---- frames and sites ------------------------------------------------------ */


static const ms_rframe_t *
frame_at(const ms_report_t *r, const ms_rsite_t *s, uint64_t k)
{
    if (k >= s->depth || s->frames[k] >= r->nframes)
        return NULL;
    return &r->frames[s->frames[k]];
}

static const char *
base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* `func` at `file:line` (module+offset when there is no name). */
static void
frame_ref(ms_md_out_t *o, const ms_rframe_t *f)
{
    char tmp[40];
    if (f == NULL) {
        ms_w_str(o->w, "an unknown frame");
        return;
    }
    char label[1024];
    ms_md_code(o, ms_frame_label(f, label, sizeof(label)), "");
    if (f->file != NULL) {
        if (f->line > 0)
            snprintf(tmp, sizeof(tmp), ":%lld", (long long)f->line);
        else
            tmp[0] = '\0';
        ms_w_str(o->w, " at ");
        ms_md_code(o, f->file, tmp);
    }
}

/* The site's first meaningful frame, and its caller. */
static void
site_ref(ms_md_out_t *o, const ms_rsite_t *s)
{
    uint64_t m = ms_report_first_frame(o->r, s);
    frame_ref(o, frame_at(o->r, s, m));
    const ms_rframe_t *caller = frame_at(o->r, s, m + 1);
    if (caller != NULL) {
        ms_w_str(o->w, ", called from ");
        frame_ref(o, caller);
    }
}

/* ---- sections -------------------------------------------------------------- */

static void
header(ms_md_out_t *o)
{
    const ms_report_t *r = o->r;
    ms_w_str(o->w, "# memscope report: ");
    ms_md_text(o, r->program, "(unknown program)");
    ms_w_str(o->w, "\n\n- **Program:** ");
    ms_md_text(o, r->program, "unknown");
    ms_w_fmt(o->w, ", pid %lld\n- **Mode:** ", (long long)r->pid);
    if (o->sampled)
        ms_w_fmt(o->w, "sampled, one sample per %llu bytes on average: per-site "
            "figures are estimates (marked ~)\n",
            (unsigned long long)r->sample_interval);
    else
        ms_w_str(o->w, "exact: every allocation is recorded\n");
    ms_w_str(o->w, "- **Started:** ");
    ms_md_utc(o, r->start_unix_ns);
    ms_w_str(o->w, "\n- **Duration:** ");
    ms_md_duration(o, r->duration_ns);
    ms_w_str(o->w, "\n- **Trigger:** ");
    ms_md_text(o, r->trigger, "unknown");
    if (r->snapshot)
        ms_w_fmt(o->w, " (snapshot %llu)", (unsigned long long)r->snapshot);
    ms_w_fmt(o->w, "\n- **Call stacks:** up to %llu frames; byte figures count ",
        (unsigned long long)r->stack_depth);
    ms_md_text(o, r->byte_basis, "unknown");
    ms_w_str(o->w, " bytes\n\n");
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
        ms_w_fmt(o->w, any ? ", " : "- **%s:** ", what);
        ms_md_code(o, name((unsigned)k), "");
        ms_w_fmt(o->w, " %llu", (unsigned long long)v[k]);
        any = 1;
    }
    if (any)
        ms_w_str(o->w, "\n");
}

static void
totals(ms_md_out_t *o)
{
    const ms_report_t *r = o->r;
    ms_w_str(o->w, "## Totals\n\n");
    ms_w_fmt(o->w, "- **Allocations:** %llu\n", (unsigned long long)r->allocs);
    ms_w_fmt(o->w, "- **Frees:** %llu\n", (unsigned long long)r->frees);
    ms_w_fmt(o->w, "- **Reallocations:** %llu\n", (unsigned long long)r->reallocs);
    kinds(o, "Allocations by kind", r->alloc_kinds, MS_REPORT_ALLOC_KINDS,
        ms_report_alloc_kind_name);
    kinds(o, "Frees by kind", r->free_kinds, MS_REPORT_FREE_KINDS,
        ms_report_free_kind_name);
    ms_w_str(o->w, "- **Bytes allocated:** ");
    ms_md_bytes(o, r->bytes_allocated);
    ms_w_str(o->w, "\n- **Bytes freed:** ");
    ms_md_bytes(o, r->bytes_freed);
    ms_w_str(o->w, "\n- **Live:** ");
    ms_md_mbytes(o, r->live_bytes);
    ms_w_fmt(o->w, " in %lld blocks\n- **Peak live:** ", (long long)r->live_blocks);
    ms_md_mbytes(o, r->peak_live_bytes);
    ms_w_str(o->w, "\n- **RSS:** ");
    ms_md_mbytes(o, r->rss);
    ms_w_str(o->w, "; peak ");
    ms_md_mbytes(o, r->peak_rss);
    ms_w_fmt(o->w, "\n- **Sites:** %llu (distinct call stacks: %llu)\n",
        (unsigned long long)r->nsites, (unsigned long long)r->stacks);
    ms_w_fmt(o->w, "- **Lost records:** %llu dropped events, %llu untracked frees, "
        "%llu dropped tasks\n\n", (unsigned long long)r->dropped_events,
        (unsigned long long)r->untracked_frees,
        (unsigned long long)r->dropped_tasks);
}

static void
site_list(ms_md_out_t *o, const char *title, ms_rank_t by)
{
    uint64_t idx[TOP_SITES];
    int n = ms_report_top_sites(o->r, by, idx, TOP_SITES);
    ms_w_fmt(o->w, "## %s%s\n\n", title, o->sampled ? " (estimates)" : "");
    if (n == 0) {
        ms_w_str(o->w, "None.\n\n");
        return;
    }
    for (int i = 0; i < n; i++) {
        const ms_rsite_t *s = &o->r->sites[idx[i]];
        ms_w_fmt(o->w, "%d. ", i + 1);
        site_ref(o, s);
        /* two spaces: a line break in HTML as in a terminal */
        ms_w_str(o->w, "  \n   live ");
        site_num(o, s->live_bytes, s->est_live_bytes, 1);
        ms_w_str(o->w, " in ");
        site_count(o, s->live_blocks, s->est_live_blocks, "block");
        ms_w_str(o->w, "; allocated ");
        site_num(o, s->bytes, s->est_bytes, 1);
        ms_w_str(o->w, " in ");
        site_count(o, s->allocs, s->est_allocs, "call");
        ms_w_fmt(o->w, " (site %llu)\n", (unsigned long long)s->id);
    }
    ms_w_str(o->w, "\n");
}

/* A fenced code block with the site's whole stack. */
static void
stack_block(ms_md_out_t *o, const ms_rsite_t *s)
{
    ms_w_str(o->w, "```text\n");
    for (uint64_t k = 0; k < s->depth; k++) {
        const ms_rframe_t *f = frame_at(o->r, s, k);
        ms_w_fmt(o->w, "#%-2llu ", (unsigned long long)k);
        if (f == NULL) {
            ms_w_str(o->w, "?\n");
            continue;
        }
        char label[1024];
        ms_md_raw(o, ms_frame_label(f, label, sizeof(label)));
        if (f->file) {
            ms_w_str(o->w, "  ");
            ms_md_raw(o, f->file);
            if (f->line > 0)
                ms_w_fmt(o->w, ":%lld", (long long)f->line);
        }
        if (f->module) {
            ms_w_str(o->w, "  (");
            ms_md_raw(o, base_name(f->module));
            ms_w_str(o->w, ")");
        }
        ms_w_str(o->w, "\n");
    }
    ms_w_str(o->w, "```\n\n");
}

static int
var_live(const ms_rvar_t *v)
{
    return v->address != 0 && v->status != NULL && strcmp(v->status, "freed") != 0;
}

static void
leak_site(ms_md_out_t *o, const ms_rsite_t *s)
{
    ms_w_str(o->w, "### ");
    site_num(o, s->live_bytes, s->est_live_bytes, 1);
    ms_w_str(o->w, " in ");
    site_count(o, s->live_blocks, s->est_live_blocks, "block");
    ms_w_str(o->w, " from ");
    frame_ref(o, frame_at(o->r, s, ms_report_first_frame(o->r, s)));
    ms_w_str(o->w, "\n\n");
    unsigned cls = ms_report_site_class(o->r, s);
    if (cls < MS_LEAK_CLASSES) {
        ms_w_str(o->w, "Class: ");
        int nc = 0;
        for (unsigned c = 0; c < MS_LEAK_CLASSES; c++) {
            if (s->leak_blocks[c] == 0)
                continue;
            if (nc++)
                ms_w_str(o->w, ", ");
            ms_w_fmt(o->w, "%s %llu block%s (", ms_report_leak_class_name(c),
                (unsigned long long)s->leak_blocks[c],
                s->leak_blocks[c] == 1 ? "" : "s");
            ms_md_bytes(o, s->leak_bytes[c]);
            ms_w_str(o->w, ")");
        }
        ms_w_str(o->w, "\n\n");
    }
    int nv = 0;
    for (uint64_t v = 0; v < o->r->nvars && nv <= MAX_VARS; v++) {
        const ms_rvar_t *var = &o->r->vars[v];
        if (var->site != s->id || !var_live(var))
            continue;
        ms_w_str(o->w, nv++ ? ", " : "Variables: ");
        if (nv > MAX_VARS)
            ms_w_str(o->w, "and more");
        else if (var->name && *var->name)
            ms_md_code(o, var->name, "");
        else
            ms_w_str(o->w, "(unnamed)");
    }
    if (nv)
        ms_w_str(o->w, "\n\n");
    stack_block(o, s);
}

static void
owners(ms_md_out_t *o, const ms_rvar_t *v)
{
    if (v->nowners == 0)
        return;
    ms_w_str(o->w, "; owners: ");
    for (uint64_t k = 0; k < v->nowners; k++) {
        if (k)
            ms_w_str(o->w, " -> ");
        if (v->owners[k].owner && *v->owners[k].owner)
            ms_md_code(o, v->owners[k].owner, "");
        else
            ms_w_str(o->w, "(unnamed)");
    }
    if (v->dropped_owners)
        ms_w_fmt(o->w, " (and %llu more not kept)",
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
            ms_w_str(o->w, "### Leaked variables\n\n");
        if (n > MAX_VARS) {
            ms_w_str(o->w, "- and more (the HTML and JSON reports list them all)\n");
            break;
        }
        ms_w_str(o->w, "- ");
        if (v->name && *v->name)
            ms_md_code(o, v->name, "");
        else
            ms_w_str(o->w, "(unnamed)");
        ms_w_str(o->w, " (");
        if (v->type && *v->type) {
            ms_md_code(o, v->type, "");
            ms_w_str(o->w, ", ");
        }
        ms_md_bytes(o, v->size);
        ms_w_str(o->w, ") made");
        if (v->func) {
            ms_w_str(o->w, " in ");
            ms_md_code(o, v->func, "");
        }
        if (v->file) {
            char ln[32];
            snprintf(ln, sizeof(ln), ":%lld", (long long)v->line);
            ms_w_str(o->w, " at ");
            ms_md_code(o, v->file, v->line > 0 ? ln : "");
        }
        owners(o, v);
        ms_w_str(o->w, "\n");
    }
    if (n)
        ms_w_str(o->w, "\n");
}

/* What the suppressions hid, in all and by pattern. */
static void
suppressed(ms_md_out_t *o)
{
    const ms_report_t *r = o->r;
    if (r->supp_file == NULL)
        return;
    ms_w_fmt(o->w, "Suppressed by %llu pattern%s of ",
        (unsigned long long)r->nsupps, r->nsupps == 1 ? "" : "s");
    ms_md_code(o, r->supp_file, "");
    ms_w_fmt(o->w, ": %llu block%s, ", (unsigned long long)r->supp_blocks,
        r->supp_blocks == 1 ? "" : "s");
    ms_md_bytes(o, r->supp_bytes);
    ms_w_fmt(o->w, ", in %llu site%s, left out of the list below (and of "
        "the classes above).\n\n", (unsigned long long)r->supp_sites,
        r->supp_sites == 1 ? "" : "s");
    for (uint64_t k = 0; k < r->nsupps; k++) {
        const ms_rsupp_t *x = &r->supps[k];
        if (x->sites == 0)
            continue;
        ms_w_str(o->w, "- ");
        ms_md_code(o, x->pattern, "");
        ms_w_fmt(o->w, ": %llu block%s, ", (unsigned long long)x->blocks,
            x->blocks == 1 ? "" : "s");
        ms_md_bytes(o, x->bytes);
        ms_w_fmt(o->w, ", %llu site%s\n", (unsigned long long)x->sites,
            x->sites == 1 ? "" : "s");
    }
    ms_w_str(o->w, "\n");
}

static void
leaks(ms_md_out_t *o)
{
    const ms_report_t *r = o->r;
    int at_exit = ms_report_at_exit(r);
    uint64_t nsites = 0;
    for (uint64_t i = 0; i < r->nsites; i++)
        nsites += r->sites[i].live_blocks > 0;
    ms_w_str(o->w, "## Leaks\n\n");
    ms_w_fmt(o->w, "%lld blocks, ", (long long)r->live_blocks);
    ms_md_mbytes(o, r->live_bytes);
    ms_w_fmt(o->w, ", %s in %llu sites.", at_exit ? "still live at exit" :
        "live when this report was taken", (unsigned long long)nsites);
    if (!at_exit)
        ms_w_str(o->w, " The program was still running: a block is a leak only "
            "if it is still live at exit.");
    ms_w_str(o->w, o->sampled ? " Per-site figures are estimates.\n\n" : "\n\n");
    if (r->leak_checked) {
        ms_w_str(o->w, at_exit ? "By reachability at exit:\n\n" :
            "By reachability when this report was taken:\n\n");
        ms_w_str(o->w, "| class | blocks | bytes |\n|---|---:|---:|\n");
        uint64_t lb[MS_LEAK_CLASSES], ly[MS_LEAK_CLASSES];
        ms_report_leak_shown(r, lb, ly);
        for (unsigned c = 0; c < MS_LEAK_CLASSES; c++) {
            ms_w_fmt(o->w, "| %s | %llu | ", ms_report_leak_class_name(c),
                (unsigned long long)lb[c]);
            ms_md_bytes(o, ly[c]);
            ms_w_str(o->w, " |\n");
        }
        ms_w_str(o->w, "\n");
    } else {
        ms_w_fmt(o->w, "Leak classes (definitely lost, indirectly lost, "
            "possibly lost, still reachable): not measured (%s).\n\n",
            ms_report_leak_unmeasured(r));
    }
    suppressed(o);
    uint64_t idx[TOP_LEAKS];
    int n = ms_report_top_sites(r, MS_RANK_LEAK, idx, TOP_LEAKS);
    for (int i = 0; i < n; i++)
        leak_site(o, &r->sites[idx[i]]);
    if ((uint64_t)n < nsites)
        ms_w_fmt(o->w, "And %llu more sites with live blocks (the HTML and JSON "
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
    uint64_t k = ms_report_first_of(o->r, frames, n);
    ms_w_str(o->w, what);
    frame_ref(o, frames[k] < o->r->nframes ? &o->r->frames[frames[k]] : NULL);
}

static void
heap_errors(ms_md_out_t *o)
{
    const ms_report_t *r = o->r;
    ms_w_str(o->w, "## Heap errors\n\n");
    if (r->nheap_errors + r->dropped_heap_errors == 0) {
        ms_w_str(o->w, "None found.\n\n");
        return;
    }
    ms_w_fmt(o->w, "%llu found", (unsigned long long)(r->nheap_errors +
        r->dropped_heap_errors));
    if (r->dropped_heap_errors)
        ms_w_fmt(o->w, "; the first %llu were kept",
            (unsigned long long)r->nheap_errors);
    ms_w_str(o->w, ".\n\n");
    for (uint64_t i = 0; i < r->nheap_errors && i < TOP_LEAKS; i++) {
        const ms_rherr_t *e = &r->heap_errors[i];
        ms_w_fmt(o->w, "%llu. ", (unsigned long long)i + 1);
        ms_md_code(o, e->kind ? e->kind : "unknown", "");
        ms_w_fmt(o->w, " of `0x%llx`", (unsigned long long)e->address);
        if (e->block)
            ms_w_fmt(o->w, " (in the %llu-byte block at `0x%llx`)",
                (unsigned long long)e->size, (unsigned long long)e->block);
        ms_w_fmt(o->w, " on thread %llu at ", (unsigned long long)e->thread);
        ms_md_duration(o, e->t_ns);
        if (e->alloc_kind) {
            ms_w_str(o->w, "; allocated with ");
            ms_md_code(o, e->alloc_kind, "");
        }
        if (e->free_kind) {
            ms_w_str(o->w, "; freed with ");
            ms_md_code(o, e->free_kind, "");
        }
        if (e->nfree_frames || e->nalloc_frames)
            ms_w_str(o->w, "  \n   ");
        herr_frame(o, "free in ", e->free_frames, e->nfree_frames);
        herr_frame(o, e->nfree_frames ? "; allocation in " : "allocation in ",
            e->alloc_frames, e->nalloc_frames);
        ms_w_str(o->w, "\n");
    }
    if (r->nheap_errors > TOP_LEAKS)
        ms_w_fmt(o->w, "\nAnd %llu more (the HTML and JSON reports list them "
            "all).\n", (unsigned long long)(r->nheap_errors - TOP_LEAKS));
    ms_w_str(o->w, "\n");
}

static void
threads(ms_md_out_t *o)
{
    const ms_report_t *r = o->r;
    ms_w_str(o->w, "## Threads\n\n");
    if (r->nthreads == 0)
        ms_w_str(o->w, "None recorded.\n");
    for (uint64_t i = 0; i < r->nthreads && i < MAX_THREADS; i++) {
        const ms_rthread_t *t = &r->threads[i];
        ms_w_str(o->w, "- ");
        ms_md_text(o, t->name, "(unnamed)");
        ms_w_fmt(o->w, " (thread %llu, tid %lld, %s): %llu allocations, %llu frees, "
            "%llu reallocations; ", (unsigned long long)t->id,
            (long long)t->tid, t->exited ? "exited" : "running",
            (unsigned long long)t->allocs, (unsigned long long)t->frees,
            (unsigned long long)t->reallocs);
        ms_md_bytes(o, t->bytes_allocated);
        ms_w_str(o->w, " allocated, ");
        ms_md_bytes(o, t->bytes_freed);
        ms_w_fmt(o->w, " freed; live %s", t->live_bytes < 0 ? "-" : "");
        ms_md_bytes(o, t->live_bytes < 0 ? (uint64_t)0 - (uint64_t)t->live_bytes :
            (uint64_t)t->live_bytes);
        ms_w_str(o->w, "\n");
    }
    if (r->nthreads > MAX_THREADS)
        ms_w_fmt(o->w, "- and %llu more threads\n",
            (unsigned long long)(r->nthreads - MAX_THREADS));
    ms_w_str(o->w, "\n");
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
        ms_w_str(o->w, "  ");
    ms_w_str(o->w, "- ");
    ms_md_text(o, t->name, "(unnamed)");
    ms_w_fmt(o->w, " (task %llu, ", (unsigned long long)t->id);
    if (t->ended) {
        ms_w_str(o->w, "ran ");
        ms_md_duration(o, t->end_ns > t->begin_ns ? t->end_ns - t->begin_ns : 0);
    } else {
        ms_w_str(o->w, "running");
    }
    ms_w_str(o->w, "): live ");
    ms_md_mbytes(o, t->live_bytes);
    ms_w_str(o->w, ", peak ");
    ms_md_mbytes(o, t->peak_live_bytes);
    ms_w_fmt(o->w, "; %llu allocations of ", (unsigned long long)t->allocs);
    ms_md_bytes(o, t->bytes);
    ms_w_fmt(o->w, " in all, %llu frees\n", (unsigned long long)t->frees);
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
    ms_w_str(o->w, "## Tasks\n\n");
    if (r->ntasks == 0) {
        ms_w_str(o->w, "None: the program began no task.\n\n");
        return;
    }
    for (uint64_t i = 0; i < r->ntasks; i++)
        if (task_index(r, r->tasks[i].parent) < 0)
            task_tree(o, i, 0);
    if (o->tasks_shown < (int)(r->ntasks < MAX_TASKS ? r->ntasks : MAX_TASKS))
        ms_w_fmt(o->w, "\nSome tasks are not listed: nested deeper than %d levels, "
            "or in a loop of parents.\n", TASK_DEPTH);
    else if (r->ntasks > MAX_TASKS)
        ms_w_fmt(o->w, "\n%llu more tasks are in the HTML and JSON reports.\n",
            (unsigned long long)(r->ntasks - MAX_TASKS));
    if (r->dropped_tasks)
        ms_w_fmt(o->w, "\n%llu tasks were dropped (over the task limit).\n",
            (unsigned long long)r->dropped_tasks);
    ms_w_str(o->w, "\n");
}

static void
temporaries(ms_md_out_t *o)
{
    uint64_t total = 0, idx[TOP_SITES];
    for (uint64_t i = 0; i < o->r->nsites; i++)
        total += o->r->sites[i].temporaries;
    ms_w_str(o->w, "## Temporaries\n\n");
    ms_w_fmt(o->w, "Blocks freed before their thread's next allocation: %llu%s.\n\n",
        (unsigned long long)total,
        o->sampled ? " (sampled blocks only)" : "");
    int n = ms_report_top_sites(o->r, MS_RANK_TEMPORARIES, idx, TOP_SITES);
    for (int i = 0; i < n; i++) {
        const ms_rsite_t *s = &o->r->sites[idx[i]];
        ms_w_fmt(o->w, "%d. ", i + 1);
        site_ref(o, s);
        ms_w_fmt(o->w, "  \n   %llu temporaries of %llu %s\n",
            (unsigned long long)s->temporaries, (unsigned long long)s->allocs,
            o->sampled ? "sampled allocations" : "allocations");
    }
    if (n)
        ms_w_str(o->w, "\n");
}

static void
fragmentation(ms_md_out_t *o)
{
    const ms_report_t *r = o->r;
    ms_w_str(o->w, "## Fragmentation\n\nFrom jemalloc's statistics at the time of "
        "the report.\n\n- **Allocated:** ");
    ms_md_mbytes(o, r->je_allocated);
    ms_w_str(o->w, "\n- **Active:** ");
    ms_md_mbytes(o, r->je_active);
    ms_w_str(o->w, "\n- **Fragmentation (1 - allocated/active):** ");
    if (r->je_active > 0 && r->je_allocated >= 0)
        ms_w_fmt(o->w, "%.1f%%", 100.0 * (1.0 - (double)r->je_allocated /
            (double)r->je_active));
    else
        ms_w_str(o->w, "not measured");
    ms_w_str(o->w, "\n- **Resident:** ");
    ms_md_mbytes(o, r->je_resident);
    ms_w_str(o->w, "\n- **Mapped:** ");
    ms_md_mbytes(o, r->je_mapped);
    ms_w_str(o->w, "\n- **Retained:** ");
    ms_md_mbytes(o, r->je_retained);
    ms_w_str(o->w, "\n\n");
}

static void
overhead(ms_md_out_t *o)
{
    const ms_report_t *r = o->r;
    ms_w_str(o->w, "## Tracer overhead\n\n- **Tracer memory:** ");
    ms_md_bytes(o, r->tracer_overhead_bytes);
    ms_w_str(o->w, "\n- **Side table:** ");
    ms_md_bytes(o, r->table_bytes);
    ms_w_fmt(o->w, " for %llu tracked blocks\n- **Table bytes per tracked block:** ",
        (unsigned long long)r->tracked_blocks);
    if (r->tracked_blocks)
        ms_w_fmt(o->w, "%.1f\n", (double)r->table_bytes / (double)r->tracked_blocks);
    else
        ms_w_str(o->w, "not measured (no tracked blocks)\n");
}

static void
write_all(ms_md_out_t *o)
{
    o->sampled = o->r->sample_interval != 0;
    header(o);
    totals(o);
    site_list(o, "Top sites by live bytes", MS_RANK_LIVE);
    site_list(o, "Top sites by allocated bytes", MS_RANK_ALLOCATED);
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
    ms_writer_t *w = ms_xmalloc(sizeof(*w));
    if (w == NULL)
        return NULL;
    ms_writer_open_mem(w);
    ms_md_out_t o = { .w = w, .r = r };
    write_all(&o);
    char *text = ms_writer_take(w, len);
    ms_xfree(w);
    return text;
}
