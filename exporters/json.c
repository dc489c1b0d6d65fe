/*
 * json.c - the JSON report (docs/json.md documents every field). Written
 * from an ms_report_t only, so the tool writes the same bytes from a .bin.
 * Figures that were not measured are null.
 */
#include <string.h>

#include "export.h"
#include "report.h"
#include "writer.h"

/* 2: frames in one table, named by index (1 wrote each site's in full) */
#define MS_FORMAT_VERSION 2

/* Every key here is a literal of the report's own names, none needing an
 * escape: written as one copy, ,"name": or "name": */
#define key(w, k, first) ms_w_jkey_lit((w), ",\"" k "\":", sizeof(k) + 3, (first))

#define KU(k, v) (key(w, k, &first), ms_w_u64(w, (uint64_t)(v)))
#define KI(k, v) (key(w, k, &first), ms_w_i64(w, (int64_t)(v)))
#define KS(k, v) (key(w, k, &first), ms_w_jstr(w, (v)))
#define KD(k, v) (key(w, k, &first), ms_w_dbl(w, (v)))
#define KB(k, v) (key(w, k, &first), ms_w_str(w, (v) ? "true" : "false"))
/* -1 means not measured */
#define KM(k, v) (key(w, k, &first), (v) < 0 ? ms_w_str(w, "null") : \
                  ms_w_i64(w, (int64_t)(v)))

static void
write_frame(ms_writer_t *w, const ms_rframe_t *f)
{
    int first = 1;
    ms_w_str(w, "{");
    KS("function", f->func);
    KS("file", f->file);
    if (f->line > 0)
        KI("line", f->line);
    else
        (key(w, "line", &first), ms_w_str(w, "null"));
    KS("module", f->module);
    key(w, "address", &first);
    ms_w_fmt(w, "\"0x%llx\"", (unsigned long long)f->addr);
    key(w, "offset", &first);
    ms_w_fmt(w, "\"0x%llx\"", (unsigned long long)f->offset);
    if (f->flags & MS_RFRAME_INLINED)
        KB("inlined", 1);
    ms_w_str(w, "}");
}

/* A stack: the indexes of its frames in the report's frame table,
 * innermost first; null for one the table does not hold. */
static void
write_frame_list(ms_writer_t *w, const ms_report_t *r, const uint64_t *ix,
    uint64_t n)
{
    ms_w_u64_list(w, ix, n, r->nframes);
}

static void
frame_item(ms_writer_t *w, uint64_t i, const void *r)
{
    write_frame(w, &((const ms_report_t *)r)->frames[i]);
}

static void
write_site(ms_writer_t *w, const ms_report_t *r, const ms_rsite_t *s,
    int sampled)
{
    int first = 1;
    ms_w_str(w, "{");
    KU("id", s->id);
    key(w, "frames", &first);
    write_frame_list(w, r, s->frames, s->depth);
    KB("estimated", sampled);
    if (sampled) {
        KD("allocs", s->est_allocs);
        KD("bytes", s->est_bytes);
        KD("live_blocks", s->est_live_blocks);
        KD("live_bytes", s->est_live_bytes);
        KU("sampled_allocs", s->allocs);
        KU("sampled_bytes", s->bytes);
        KU("sampled_frees", s->frees);
        KU("sampled_live_blocks", s->live_blocks);
        KU("sampled_live_bytes", s->live_bytes);
    } else {
        KU("allocs", s->allocs);
        KU("bytes", s->bytes);
        KU("frees", s->frees);
        KU("freed_bytes", s->freed_bytes);
        KU("live_blocks", s->live_blocks);
        KU("live_bytes", s->live_bytes);
        KU("usable_bytes", s->usable_bytes);
        KU("live_usable_bytes", s->live_usable_bytes);
    }
    KU("temporaries", s->temporaries);
    key(w, "lifetimes", &first);
    ms_w_u64_list(w, s->life, MS_REPORT_LIFE_BUCKETS, UINT64_MAX);
    ms_w_str(w, "}");
}

static void
supp_item(ms_writer_t *w, uint64_t i, const void *r)
{
    const ms_rsupp_t *x = &((const ms_report_t *)r)->supps[i];
    int first = 1;
    ms_w_str(w, "{");
    KS("pattern", x->pattern);
    KU("sites", x->sites);
    KU("blocks", x->blocks);
    KU("bytes", x->bytes);
    ms_w_str(w, "}");
}

static void
site_item(ms_writer_t *w, uint64_t i, const void *r)
{
    const ms_report_t *rep = r;
    write_site(w, rep, &rep->sites[i], rep->sample_interval != 0);
}

/* The suppressions applied and what each hid; null when none was. */
static void
write_suppressed(ms_writer_t *w, const ms_report_t *r)
{
    if (r->supp_file == NULL) {
        ms_w_str(w, "null");
        return;
    }
    int first = 1;
    ms_w_str(w, "{");
    KS("file", r->supp_file);
    KU("sites", r->supp_sites);
    KU("blocks", r->supp_blocks);
    KU("bytes", r->supp_bytes);
    key(w, "patterns", &first);
    ms_w_jarray(w, r->nsupps, supp_item, r);
    ms_w_str(w, "}");
}

static void
write_leaks(ms_writer_t *w, const ms_report_t *r, int sampled)
{
    int any = 0;
    ms_w_str(w, "[");
    for (uint64_t i = 0; i < r->nsites; i++) {
        const ms_rsite_t *s = &r->sites[i];
        if (s->live_blocks == 0 || s->suppressed)
            continue;
        if (any++)
            ms_w_str(w, ",");
        int first = 1;
        ms_w_str(w, "{");
        KU("site", s->id);
        KB("estimated", sampled);
        if (sampled) {
            KD("blocks", s->est_live_blocks);
            KD("bytes", s->est_live_bytes);
        } else {
            KU("blocks", s->live_blocks);
            KU("bytes", s->live_bytes);
        }
        unsigned c = ms_report_site_class(r, s);
        key(w, "class", &first);
        if (c < MS_LEAK_CLASSES)
            ms_w_jstr(w, ms_report_leak_class_name(c));
        else
            ms_w_str(w, "null");
        key(w, "classes", &first);
        ms_w_jclasses(w, r->leak_checked, s->leak_blocks, s->leak_bytes,
            MS_LEAK_CLASSES, ms_report_leak_class_name);
        key(w, "variables", &first);
        ms_w_str(w, "[");
        int nv = 0;
        for (uint64_t v = 0; v < r->nvars; v++) {
            const ms_rvar_t *var = &r->vars[v];
            if (var->site != s->id || var->address == 0 ||
                (var->status != NULL && strcmp(var->status, "freed") == 0))
                continue;
            if (nv++)
                ms_w_str(w, ",");
            ms_w_jstr(w, var->name);
        }
        ms_w_str(w, "]");
        key(w, "frames", &first);
        write_frame_list(w, r, s->frames, s->depth);
        ms_w_str(w, "}");
    }
    ms_w_str(w, "]");
}

static void
write_heap_error(ms_writer_t *w, const ms_report_t *r, const ms_rherr_t *e)
{
    int first = 1;
    ms_w_str(w, "{");
    KS("kind", e->kind);
    key(w, "address", &first);
    ms_w_fmt(w, "\"0x%llx\"", (unsigned long long)e->address);
    key(w, "block", &first);
    if (e->block)
        ms_w_fmt(w, "\"0x%llx\"", (unsigned long long)e->block);
    else
        ms_w_str(w, "null");
    KU("size", e->size);
    KS("alloc_kind", e->alloc_kind);
    KS("free_kind", e->free_kind);
    KU("thread", e->thread);
    KU("t_ns", e->t_ns);
    key(w, "alloc_frames", &first);
    write_frame_list(w, r, e->alloc_frames, e->nalloc_frames);
    key(w, "free_frames", &first);
    write_frame_list(w, r, e->free_frames, e->nfree_frames);
    ms_w_str(w, "}");
}

static void
herr_item(ms_writer_t *w, uint64_t i, const void *r)
{
    write_heap_error(w, r, &((const ms_report_t *)r)->heap_errors[i]);
}

static void
thread_item(ms_writer_t *w, uint64_t i, const void *r)
{
    const ms_rthread_t *t = &((const ms_report_t *)r)->threads[i];
    int first = 1;
    ms_w_str(w, "{");
    KU("id", t->id);
    KI("tid", t->tid);
    KS("name", t->name);
    KB("exited", t->exited);
    KU("allocs", t->allocs);
    KU("frees", t->frees);
    KU("reallocs", t->reallocs);
    KU("bytes_allocated", t->bytes_allocated);
    KU("bytes_freed", t->bytes_freed);
    KI("live_bytes", t->live_bytes);
    ms_w_str(w, "}");
}

static void
task_item(ms_writer_t *w, uint64_t i, const void *r)
{
    const ms_rtask_t *t = &((const ms_report_t *)r)->tasks[i];
    int first = 1;
    ms_w_str(w, "{");
    KU("id", t->id);
    key(w, "parent", &first);
    if (t->parent)
        ms_w_u64(w, t->parent);
    else
        ms_w_str(w, "null");
    KS("name", t->name);
    KS("state", t->ended ? "ended" : "running");
    KU("threads_entered", t->threads_seen);
    KU("begin_ns", t->begin_ns);
    key(w, "end_ns", &first);
    if (t->ended)
        ms_w_u64(w, t->end_ns);
    else
        ms_w_str(w, "null");
    KU("allocs", t->allocs);
    KU("frees", t->frees);
    KU("bytes_allocated", t->bytes);
    KU("bytes_freed", t->freed_bytes);
    KI("live_bytes", t->live_bytes);
    KI("peak_live_bytes", t->peak_live_bytes);
    ms_w_str(w, "}");
}

/* One timeline point: t_ns, then the columns (null: not measured). */
static void
point_item(ms_writer_t *w, uint64_t i, const void *r)
{
    const ms_rpoint_t *p = &((const ms_report_t *)r)->timeline[i];
    int64_t v[] = { p->heap_live, p->rss, p->cpu_ns, p->io_read,
        p->io_write, p->je_allocated, p->je_active, p->je_resident,
        p->je_mapped, p->je_retained };
    ms_w_str(w, "[");
    ms_w_u64(w, p->t_ns);
    for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
        ms_w_str(w, ",");
        if (v[k] < 0 && k != 0)
            ms_w_str(w, "null");
        else
            ms_w_i64(w, v[k]);
    }
    ms_w_str(w, "]");
}

static void
write_var(ms_writer_t *w, const ms_rvar_t *v)
{
    int first = 1;
    ms_w_str(w, "{");
    KU("id", v->id);
    KS("name", v->name);
    KS("type", v->type);
    KS("status", v->status);
    key(w, "address", &first);
    if (v->address)
        ms_w_fmt(w, "\"0x%llx\"", (unsigned long long)v->address);
    else
        ms_w_str(w, "null");
    KU("size", v->size);
    KU("elem_size", v->elem_size);
    KU("count", v->count);
    KS("value", v->value);
    KS("file", v->file);
    KI("line", v->line);
    KS("function", v->func);
    KU("thread", v->thread);
    KU("task", v->task);
    KU("site", v->site);
    KU("created_ns", v->created_ns);
    key(w, "freed_ns", &first);
    if (v->freed_ns)
        ms_w_u64(w, v->freed_ns);
    else
        ms_w_str(w, "null");
    KB("owned", v->owned);
    key(w, "owners", &first);
    ms_w_str(w, "[");
    for (uint64_t k = 0; k < v->nowners; k++) {
        int f2 = 1;
        if (k)
            ms_w_str(w, ",");
        ms_w_str(w, "{");
        key(w, "owner", &f2);
        ms_w_jstr(w, v->owners[k].owner);
        key(w, "t_ns", &f2);
        ms_w_u64(w, v->owners[k].t_ns);
        ms_w_str(w, "}");
    }
    ms_w_str(w, "]");
    KU("dropped_owners", v->dropped_owners);
    ms_w_str(w, "}");
}

static void
var_item(ms_writer_t *w, uint64_t i, const void *r)
{
    write_var(w, &((const ms_report_t *)r)->vars[i]);
}

void
ms_json_write(ms_writer_t *w, const ms_report_t *r)
{
    int sampled = r->sample_interval != 0;
    int first = 1;
    ms_w_str(w, "{");
    KS("format", "memscope");
    KU("version", MS_FORMAT_VERSION);
    KS("program", r->program);
    KI("pid", r->pid);
    KS("mode", r->mode);
    KU("sample_interval", r->sample_interval);
    KU("stack_depth", r->stack_depth);
    KS("trigger", r->trigger);
    KU("snapshot", r->snapshot);
    KU("start_unix_ns", r->start_unix_ns);
    KU("duration_ns", r->duration_ns);
    KU("clock_resolution_ns", r->clock_resolution_ns);
    KS("byte_basis", r->byte_basis);

    key(w, "summary", &first);
    {
        int first = 1;
        ms_w_str(w, "{");
        KU("allocs", r->allocs);
        KU("frees", r->frees);
        KU("reallocs", r->reallocs);
        key(w, "alloc_kinds", &first);
        ms_w_jcounts(w, r->alloc_kinds, MS_REPORT_ALLOC_KINDS,
            ms_report_alloc_kind_name);
        key(w, "free_kinds", &first);
        ms_w_jcounts(w, r->free_kinds, MS_REPORT_FREE_KINDS,
            ms_report_free_kind_name);
        KU("bytes_allocated", r->bytes_allocated);
        KU("bytes_freed", r->bytes_freed);
        KI("live_blocks", r->live_blocks);
        KI("live_bytes", r->live_bytes);
        KI("peak_live_bytes", r->peak_live_bytes);
        uint64_t lb[MS_LEAK_CLASSES], ly[MS_LEAK_CLASSES];
        ms_report_leak_shown(r, lb, ly);
        key(w, "leak_classes", &first);
        ms_w_jclasses(w, r->leak_checked, lb, ly, MS_LEAK_CLASSES,
            ms_report_leak_class_name);
        key(w, "suppressed", &first);
        write_suppressed(w, r);
        KU("threads", r->nthreads);
        KU("tasks", r->ntasks);
        KU("variables", r->nvars);
        KU("sites", r->nsites);
        KU("stacks", r->stacks);
        KU("dropped_events", r->dropped_events);
        KU("untracked_frees", r->untracked_frees);
        KU("dropped_tasks", r->dropped_tasks);
        KU("heap_errors", r->nheap_errors + r->dropped_heap_errors);
        KU("tracer_overhead_bytes", r->tracer_overhead_bytes);
        KU("table_bytes", r->table_bytes);
        KU("tracked_blocks", r->tracked_blocks);
        key(w, "table_bytes_per_tracked_block", &first);
        if (r->tracked_blocks)
            ms_w_dbl(w, (double)r->table_bytes / (double)r->tracked_blocks);
        else
            ms_w_str(w, "null");
        KM("rss", r->rss);
        KM("peak_rss", r->peak_rss);
        ms_w_str(w, "}");
    }
    key(w, "allocator", &first);
    {
        int first = 1;
        ms_w_str(w, "{");
        KS("engine", "jemalloc");
        KM("allocated", r->je_allocated);
        KM("active", r->je_active);
        KM("resident", r->je_resident);
        KM("mapped", r->je_mapped);
        KM("retained", r->je_retained);
        key(w, "fragmentation", &first);
        if (r->je_active > 0 && r->je_allocated >= 0)
            ms_w_dbl(w, 1.0 - (double)r->je_allocated / (double)r->je_active);
        else
            ms_w_str(w, "null");
        ms_w_str(w, "}");
    }

    key(w, "threads", &first);
    ms_w_jarray(w, r->nthreads, thread_item, r);

    key(w, "tasks", &first);
    ms_w_jarray(w, r->ntasks, task_item, r);

    key(w, "variables", &first);
    ms_w_jarray(w, r->nvars, var_item, r);

    key(w, "frames", &first);
    ms_w_jarray(w, r->nframes, frame_item, r);

    key(w, "sites", &first);
    ms_w_jarray(w, r->nsites, site_item, r);

    key(w, "leaks", &first);
    write_leaks(w, r, sampled);

    key(w, "heap_errors", &first);
    ms_w_jarray(w, r->nheap_errors, herr_item, r);

    key(w, "timeline", &first);
    {
        int first = 1;
        ms_w_str(w, "{");
        KU("interval_ns", r->timeline_interval_ns);
        key(w, "columns", &first);
        ms_w_str(w, "[\"t_ns\",\"heap_live\",\"rss\",\"cpu_ns\",\"io_read\","
            "\"io_write\",\"je_allocated\",\"je_active\",\"je_resident\","
            "\"je_mapped\",\"je_retained\"]");
        key(w, "points", &first);
        ms_w_jarray(w, r->ntimeline, point_item, r);
        ms_w_str(w, "}");
    }

    key(w, "size_histogram", &first);
    ms_w_str(w, "[");
    for (int b = 0, n = 0; b < MS_REPORT_SIZE_BUCKETS; b++) {
        if (r->size_hist[b] == 0)
            continue;
        ms_w_str(w, n++ ? ",{" : "{");
        int first = 1;
        KU("min", ms_report_size_lower(b));
        KU("max", ms_report_size_upper(b));
        KU("count", r->size_hist[b]);
        ms_w_str(w, "}");
    }
    ms_w_str(w, "]");

    key(w, "lifetime_histogram", &first);
    ms_w_str(w, "[");
    for (int b = 0; b < MS_REPORT_LIFE_BUCKETS; b++) {
        ms_w_str(w, b ? ",{" : "{");
        int first = 1;
        KU("min_ms", ms_report_life_lower_ms(b));
        key(w, "max_ms", &first);
        if (b == MS_REPORT_LIFE_BUCKETS - 1)
            ms_w_str(w, "null");
        else
            ms_w_u64(w, ms_report_life_upper_ms(b));
        KU("count", r->life_hist[b]);
        ms_w_str(w, "}");
    }
    ms_w_str(w, "]");
    ms_w_str(w, "}\n");
}
