/*
 * diff.c - `memscope diff A.bin B.bin`: what grew from A to B, per site,
 * per task and per thread, with the summary figures of both.
 *
 * Ids differ between runs, so rows are matched by what they are: a site by
 * its frames (function, file, line and module of each; the module offset
 * too when the function is unknown), a task by the path of names from its
 * root, a thread by its id and name. Rows with the same identity in one
 * report are added up. In sampled mode per-site figures are the estimates,
 * rounded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "../exporters/md_out.h"
#include "../exporters/writer.h"

static const char *cmd = "diff";

#define NMETRIC 4

typedef struct {
    char *key;                  /* identity */
    char *label;                /* for people */
    const ms_report_t *r;       /* where it comes from (site frames) */
    const ms_rsite_t *site;     /* NULL for tasks and threads */
    int64_t v[NMETRIC];
} item_t;

typedef struct {
    item_t *items;
    size_t n;
} list_t;

typedef struct {
    const item_t *a, *b;        /* NULL when absent from that report */
    int64_t d[NMETRIC];
} row_t;

typedef struct {
    const char *title, *what;
    const char *metric[NMETRIC];        /* JSON names */
    const char *column[NMETRIC];        /* markdown headers */
    list_t a, b;
    row_t *rows;
    size_t nrows;
} table_t;

typedef struct {
    const char *fa, *fb, *format, *out;
    long top;
} args_t;

/* ---- identities and labels ----------------------------------------------- */

static int64_t
clamp_u(uint64_t v)
{
    return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

static void
frame_text(FILE *f, const ms_rframe_t *fr, int for_key)
{
    const char *mod = fr->module ? fr->module : "";
    if (for_key) {
        fprintf(f, "%s\x1f%s\x1f%lld\x1f%s", fr->func ? fr->func : "",
            fr->file ? fr->file : "", (long long)fr->line, mod);
        if (fr->func == NULL)
            fprintf(f, "\x1f%llx", (unsigned long long)fr->offset);
        fputc('\x1e', f);
    } else if (fr->func != NULL) {
        fprintf(f, "%s", fr->func);
        if (fr->file != NULL && fr->line > 0)
            fprintf(f, " (%s:%lld)", cli_basename(fr->file),
                (long long)fr->line);
    } else {
        fprintf(f, "%s+0x%llx", cli_basename(mod),
            (unsigned long long)fr->offset);
    }
}

/* The site's identity (for_key) or its first frames, innermost first. */
static char *
site_text(const ms_report_t *r, const ms_rsite_t *s, int for_key)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return NULL;
    for (uint64_t k = 0; k < s->depth; k++) {
        if (!for_key && k == 4) {
            fputs(" < ...", f);
            break;
        }
        if (!for_key && k > 0)
            fputs(" < ", f);
        if (s->frames[k] < r->nframes)
            frame_text(f, &r->frames[s->frames[k]], for_key);
    }
    if (s->depth == 0 && !for_key)
        fputs("(no stack)", f);
    fclose(f);
    return buf;
}

/* Tasks by id, for finding parents in O(log n). */
typedef struct {
    const ms_rtask_t **by_id;
    uint64_t n;
} tindex_t;

static int
cmp_task_id(const void *x, const void *y)
{
    uint64_t a = (*(const ms_rtask_t *const *)x)->id;
    uint64_t b = (*(const ms_rtask_t *const *)y)->id;
    return a < b ? -1 : a > b;
}

static const ms_rtask_t *
task_by_id(const tindex_t *ix, uint64_t id)
{
    uint64_t lo = 0, hi = ix->n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (ix->by_id[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ix->n && ix->by_id[lo]->id == id ? ix->by_id[lo] : NULL;
}

/* "root/child/task"; a task without a name is "#ID". */
static char *
task_path(const tindex_t *ix, const ms_rtask_t *t)
{
    const ms_rtask_t *chain[64];
    int n = 0;
    for (const ms_rtask_t *p = t; p != NULL && n < 64;
         p = p->parent ? task_by_id(ix, p->parent) : NULL)
        chain[n++] = p;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return NULL;
    if (n == 64)
        fputs(".../", f);
    while (n-- > 0) {
        if (chain[n]->name != NULL)
            fputs(chain[n]->name, f);
        else
            fprintf(f, "#%llu", (unsigned long long)chain[n]->id);
        if (n > 0)
            fputc('/', f);
    }
    fclose(f);
    return buf;
}

/* ---- building the lists --------------------------------------------------- */

static int
sites_list(const ms_report_t *r, list_t *l)
{
    int est = r->sample_interval != 0;
    l->items = calloc(r->nsites ? r->nsites : 1, sizeof(item_t));
    if (l->items == NULL)
        return -1;
    for (uint64_t i = 0; i < r->nsites; i++) {
        const ms_rsite_t *s = &r->sites[i];
        item_t *it = &l->items[l->n++];
        it->r = r;
        it->site = s;
        it->key = site_text(r, s, 1);
        it->label = site_text(r, s, 0);
        if (it->key == NULL || it->label == NULL)
            return -1;
        it->v[0] = est ? ms_report_est_signed(s->est_live_bytes) : clamp_u(s->live_bytes);
        it->v[1] = est ? ms_report_est_signed(s->est_live_blocks) : clamp_u(s->live_blocks);
        it->v[2] = est ? ms_report_est_signed(s->est_allocs) : clamp_u(s->allocs);
        it->v[3] = est ? ms_report_est_signed(s->est_bytes) : clamp_u(s->bytes);
    }
    return 0;
}

static int
tasks_list(const ms_report_t *r, list_t *l)
{
    tindex_t ix = { calloc(r->ntasks ? r->ntasks : 1, sizeof(*ix.by_id)),
        r->ntasks };
    l->items = calloc(r->ntasks ? r->ntasks : 1, sizeof(item_t));
    if (l->items == NULL || ix.by_id == NULL) {
        free(ix.by_id);
        return -1;
    }
    for (uint64_t i = 0; i < r->ntasks; i++)
        ix.by_id[i] = &r->tasks[i];
    qsort(ix.by_id, r->ntasks, sizeof(*ix.by_id), cmp_task_id);
    for (uint64_t i = 0; i < r->ntasks; i++) {
        const ms_rtask_t *t = &r->tasks[i];
        item_t *it = &l->items[l->n++];
        it->r = r;
        it->key = task_path(&ix, t);
        it->label = it->key ? strdup(it->key) : NULL;
        if (it->key == NULL || it->label == NULL)
            break;
        it->v[0] = t->live_bytes;
        it->v[1] = t->peak_live_bytes;
        it->v[2] = clamp_u(t->allocs);
        it->v[3] = clamp_u(t->bytes);
    }
    free(ix.by_id);
    return l->n > 0 && l->items[l->n - 1].label == NULL ? -1 : 0;
}

static int
threads_list(const ms_report_t *r, list_t *l)
{
    l->items = calloc(r->nthreads ? r->nthreads : 1, sizeof(item_t));
    if (l->items == NULL)
        return -1;
    for (uint64_t i = 0; i < r->nthreads; i++) {
        const ms_rthread_t *t = &r->threads[i];
        item_t *it = &l->items[l->n++];
        it->r = r;
        const char *name = t->name ? t->name : "";
        if (asprintf(&it->key, "%020llu %s", (unsigned long long)t->id,
                name) < 0)
            it->key = NULL;
        if (asprintf(&it->label, "%s (thread %llu)", name,
                (unsigned long long)t->id) < 0)
            it->label = NULL;
        if (it->key == NULL || it->label == NULL)
            return -1;
        it->v[0] = t->live_bytes;
        it->v[1] = clamp_u(t->allocs);
        it->v[2] = clamp_u(t->frees);
        it->v[3] = clamp_u(t->bytes_allocated);
    }
    return 0;
}

static void
list_free(list_t *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].key);
        free(l->items[i].label);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* ---- matching ------------------------------------------------------------- */

static int
by_key(const void *x, const void *y)
{
    return strcmp(((const item_t *)x)->key, ((const item_t *)y)->key);
}

static int64_t
sat_add(int64_t a, int64_t b)
{
    int64_t s;
    if (__builtin_add_overflow(a, b, &s))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return s;
}

/* Sorts by identity and adds up items of the same identity. */
static void
list_merge(list_t *l)
{
    qsort(l->items, l->n, sizeof(item_t), by_key);
    size_t out = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (out > 0 && strcmp(l->items[out - 1].key, l->items[i].key) == 0) {
            for (int m = 0; m < NMETRIC; m++)
                l->items[out - 1].v[m] = sat_add(l->items[out - 1].v[m],
                    l->items[i].v[m]);
            free(l->items[i].key);
            free(l->items[i].label);
            continue;
        }
        l->items[out++] = l->items[i];
    }
    l->n = out;
}

static int
by_growth(const void *x, const void *y)
{
    const row_t *a = x, *b = y;
    for (int m = 0; m < NMETRIC; m++)
        if (a->d[m] != b->d[m])
            return a->d[m] > b->d[m] ? -1 : 1;
    const item_t *ia = a->a ? a->a : a->b, *ib = b->a ? b->a : b->b;
    return strcmp(ia->key, ib->key);
}

static void
add_row(table_t *t, const item_t *a, const item_t *b)
{
    row_t *row = &t->rows[t->nrows];
    int changed = 0;
    row->a = a;
    row->b = b;
    for (int m = 0; m < NMETRIC; m++) {
        int64_t va = a ? a->v[m] : 0, vb = b ? b->v[m] : 0;
        row->d[m] = sat_add(vb, va == INT64_MIN ? INT64_MAX : -va);
        changed |= row->d[m] != 0;
    }
    if (changed || a == NULL || b == NULL)
        t->nrows++;
}

/* The rows that changed, most growth first. */
static int
table_match(table_t *t)
{
    list_merge(&t->a);
    list_merge(&t->b);
    t->rows = calloc(t->a.n + t->b.n + 1, sizeof(row_t));
    if (t->rows == NULL)
        return -1;
    size_t i = 0, j = 0;
    while (i < t->a.n || j < t->b.n) {
        int c = i >= t->a.n ? 1 : j >= t->b.n ? -1 :
            strcmp(t->a.items[i].key, t->b.items[j].key);
        const item_t *a = c <= 0 ? &t->a.items[i++] : NULL;
        const item_t *b = c >= 0 ? &t->b.items[j++] : NULL;
        add_row(t, a, b);
    }
    qsort(t->rows, t->nrows, sizeof(row_t), by_growth);
    return 0;
}

static size_t
shown(const table_t *t, long top)
{
    return top > 0 && (size_t)top < t->nrows ? (size_t)top : t->nrows;
}

/* ---- markdown ------------------------------------------------------------- */

/* Text for a table cell, escaped as the markdown report escapes the
 * traced program's strings (md_out.c): no '|' or line break can break
 * the table. */
static void
md_cell(ms_writer_t *w, const char *s)
{
    ms_md_out_t o = { .w = w };
    ms_md_text(&o, s, "");
}

static void
md_signed(ms_writer_t *w, int64_t v)
{
    if (v > 0)
        ms_w_str(w, "+");
    ms_w_i64(w, v);
}

static void
md_table(ms_writer_t *w, const table_t *t, long top)
{
    ms_w_fmt(w, "\n## %s\n\n", t->title);
    if (t->nrows == 0) {
        ms_w_fmt(w, "No %s changed.\n", t->what);
        return;
    }
    size_t n = shown(t, top);
    ms_w_fmt(w, "Changed %s: %zu", t->what, t->nrows);
    if (n < t->nrows)
        ms_w_fmt(w, "; the %zu that grew most follow (--top)", n);
    ms_w_fmt(w, ".\n\n| %s A | %s B | change |", t->column[0], t->column[0]);
    for (int m = 1; m < NMETRIC; m++)
        ms_w_fmt(w, " %s change |", t->column[m]);
    ms_w_str(w, " what |\n|---:|---:|---:|---:|---:|---:|---|\n");
    for (size_t i = 0; i < n; i++) {
        const row_t *row = &t->rows[i];
        const item_t *it = row->b ? row->b : row->a;
        ms_w_str(w, "| ");
        if (row->a) ms_w_i64(w, row->a->v[0]); else ms_w_str(w, "-");
        ms_w_str(w, " | ");
        if (row->b) ms_w_i64(w, row->b->v[0]); else ms_w_str(w, "-");
        for (int m = 0; m < NMETRIC; m++) {
            ms_w_str(w, " | ");
            md_signed(w, row->d[m]);
        }
        ms_w_str(w, " | ");
        md_cell(w, it->label);
        ms_w_str(w, " |\n");
    }
}

/* ---- the summary ---------------------------------------------------------- */

typedef struct {
    const char *name, *label;
    int64_t a, b;               /* < 0 with measured = 1: not measured */
    int measured;
} fig_t;

static size_t
figures(const ms_report_t *a, const ms_report_t *b, fig_t *f)
{
    static const struct { const char *name, *label; int measured; } def[] = {
        { "live_bytes", "live bytes", 0 }, { "live_blocks", "live blocks", 0 },
        { "peak_live_bytes", "peak live bytes", 0 },
        { "allocs", "allocations", 0 }, { "frees", "frees", 0 },
        { "bytes_allocated", "bytes allocated", 0 },
        { "bytes_freed", "bytes freed", 0 }, { "rss", "RSS", 1 },
        { "peak_rss", "peak RSS", 1 }, { "duration_ns", "duration (ns)", 0 },
        { "threads", "threads", 0 }, { "tasks", "tasks", 0 },
        { "variables", "variables", 0 }, { "sites", "sites", 0 },
    };
    const ms_report_t *r[2] = { a, b };
    int64_t v[2][sizeof(def) / sizeof(def[0])];
    for (int i = 0; i < 2; i++) {
        const ms_report_t *x = r[i];
        int64_t row[] = { x->live_bytes, x->live_blocks, x->peak_live_bytes,
            clamp_u(x->allocs), clamp_u(x->frees), clamp_u(x->bytes_allocated),
            clamp_u(x->bytes_freed), x->rss, x->peak_rss,
            clamp_u(x->duration_ns), clamp_u(x->nthreads), clamp_u(x->ntasks),
            clamp_u(x->nvars), clamp_u(x->nsites) };
        _Static_assert(sizeof(row) == sizeof(v[0]), "one value a figure");
        memcpy(v[i], row, sizeof(row));
    }
    size_t n = sizeof(def) / sizeof(def[0]);
    for (size_t k = 0; k < n; k++)
        f[k] = (fig_t){ def[k].name, def[k].label, v[0][k], v[1][k],
            def[k].measured };
    return n;
}

static void
md_header(ms_writer_t *w, const args_t *ar, const ms_report_t *a,
    const ms_report_t *b)
{
    const ms_report_t *r[2] = { a, b };
    const char *file[2] = { ar->fa, ar->fb };
    ms_w_str(w, "# memscope diff\n");
    for (int i = 0; i < 2; i++) {
        ms_w_fmt(w, "\n%c: ", 'A' + i);
        md_cell(w, cli_basename(file[i]));
        ms_w_str(w, " (");
        md_cell(w, r[i]->program);
        ms_w_fmt(w, ", pid %lld, %s", (long long)r[i]->pid, r[i]->trigger);
        if (r[i]->snapshot)
            ms_w_fmt(w, " %llu", (unsigned long long)r[i]->snapshot);
        ms_w_fmt(w, " after %.3f s, %s mode)\n", (double)r[i]->duration_ns / 1e9,
            r[i]->mode);
    }
    if (a->sample_interval || b->sample_interval)
        ms_w_str(w, "\nPer-site figures of a sampled report are estimates.\n");
}

static void
md_summary(ms_writer_t *w, const ms_report_t *a, const ms_report_t *b)
{
    fig_t f[16];
    size_t n = figures(a, b, f);
    ms_w_str(w, "\n## Summary\n\n| figure | A | B | change |\n"
        "|---|---:|---:|---:|\n");
    for (size_t i = 0; i < n; i++) {
        ms_w_fmt(w, "| %s | ", f[i].label);
        int na = f[i].measured && f[i].a < 0, nb = f[i].measured && f[i].b < 0;
        if (na) ms_w_str(w, "not measured"); else ms_w_i64(w, f[i].a);
        ms_w_str(w, " | ");
        if (nb) ms_w_str(w, "not measured"); else ms_w_i64(w, f[i].b);
        ms_w_str(w, " | ");
        if (na || nb)
            ms_w_str(w, "-");
        else
            md_signed(w, sat_add(f[i].b, f[i].a == INT64_MIN ? INT64_MAX :
                -f[i].a));
        ms_w_str(w, " |\n");
    }
}

/* ---- JSON ----------------------------------------------------------------- */

static void
json_side(ms_writer_t *w, const char *file, const ms_report_t *r)
{
    int first = 1;
    ms_w_str(w, "{");
    ms_w_jkey(w, "file", &first); ms_w_jstr(w, file);
    ms_w_jkey(w, "program", &first); ms_w_jstr(w, r->program);
    ms_w_jkey(w, "pid", &first); ms_w_i64(w, r->pid);
    ms_w_jkey(w, "trigger", &first); ms_w_jstr(w, r->trigger);
    ms_w_jkey(w, "snapshot", &first); ms_w_u64(w, r->snapshot);
    ms_w_jkey(w, "mode", &first); ms_w_jstr(w, r->mode);
    ms_w_jkey(w, "duration_ns", &first); ms_w_u64(w, r->duration_ns);
    ms_w_str(w, "}");
}

static void
json_values(ms_writer_t *w, const table_t *t, const int64_t *v)
{
    int first = 1;
    if (v == NULL) {
        ms_w_str(w, "null");
        return;
    }
    ms_w_str(w, "{");
    for (int m = 0; m < NMETRIC; m++) {
        ms_w_jkey(w, t->metric[m], &first);
        ms_w_i64(w, v[m]);
    }
    ms_w_str(w, "}");
}

static void
json_frames(ms_writer_t *w, const item_t *it)
{
    ms_w_str(w, "[");
    for (uint64_t k = 0; k < it->site->depth; k++) {
        const ms_rframe_t *f = &it->r->frames[it->site->frames[k]];
        int first = 1;
        ms_w_str(w, k ? ",{" : "{");
        ms_w_jkey(w, "function", &first); ms_w_jstr(w, f->func);
        ms_w_jkey(w, "file", &first); ms_w_jstr(w, f->file);
        ms_w_jkey(w, "line", &first);
        if (f->line > 0) ms_w_i64(w, f->line); else ms_w_str(w, "null");
        ms_w_jkey(w, "module", &first); ms_w_jstr(w, f->module);
        ms_w_jkey(w, "offset", &first);
        ms_w_fmt(w, "\"0x%llx\"", (unsigned long long)f->offset);
        ms_w_str(w, "}");
    }
    ms_w_str(w, "]");
}

static void
json_table(ms_writer_t *w, const table_t *t, long top, const char *name)
{
    size_t n = shown(t, top);
    ms_w_fmt(w, ",\"%s\":[", name);
    for (size_t i = 0; i < n; i++) {
        const row_t *row = &t->rows[i];
        const item_t *it = row->b ? row->b : row->a;
        int first = 1;
        ms_w_str(w, i ? ",{" : "{");
        if (it->site != NULL) {
            ms_w_jkey(w, "frames", &first);
            json_frames(w, it);
        } else {
            ms_w_jkey(w, "name", &first);
            ms_w_jstr(w, it->label);
        }
        ms_w_jkey(w, "a", &first); json_values(w, t, row->a ? row->a->v : NULL);
        ms_w_jkey(w, "b", &first); json_values(w, t, row->b ? row->b->v : NULL);
        ms_w_jkey(w, "change", &first); json_values(w, t, row->d);
        ms_w_str(w, "}");
    }
    ms_w_str(w, "]");
}

static void
json_summary(ms_writer_t *w, const ms_report_t *a, const ms_report_t *b)
{
    fig_t f[16];
    size_t n = figures(a, b, f);
    ms_w_str(w, ",\"summary\":{");
    for (size_t i = 0; i < n; i++) {
        int first = 1;
        int na = f[i].measured && f[i].a < 0, nb = f[i].measured && f[i].b < 0;
        ms_w_fmt(w, "%s\"%s\":{", i ? "," : "", f[i].name);
        ms_w_jkey(w, "a", &first);
        if (na) ms_w_str(w, "null"); else ms_w_i64(w, f[i].a);
        ms_w_jkey(w, "b", &first);
        if (nb) ms_w_str(w, "null"); else ms_w_i64(w, f[i].b);
        ms_w_jkey(w, "change", &first);
        if (na || nb)
            ms_w_str(w, "null");
        else
            ms_w_i64(w, sat_add(f[i].b, f[i].a == INT64_MIN ? INT64_MAX :
                -f[i].a));
        ms_w_str(w, "}");
    }
    ms_w_str(w, "}");
}

/* ---- the command ---------------------------------------------------------- */

static void
usage(FILE *to)
{
    fprintf(to,
        "usage: memscope diff A.bin B.bin [--format md|json] [--top N] [-o OUT]\n"
        "\n"
        "What changed from the binary report A.bin to B.bin (two snapshots of\n"
        "one process, or two runs): the summary figures, then the sites, tasks\n"
        "and threads whose figures changed, most growth of live bytes first.\n"
        "Sites are matched by their frames' function, file, line and module,\n"
        "tasks by the path of their names, threads by id and name.\n"
        "\n"
        "  --format F  md (default) or json\n"
        "  --top N     at most N rows per table (default 20 for md; 0 = all,\n"
        "              the default for json)\n"
        "  -o OUT      write OUT (whole, or not at all) instead of standard\n"
        "              output\n"
        "\n"
        "Exit status: 0 done, 1 bad input or a failed write, 2 bad usage.\n");
}

static int
parse(int argc, char **argv, args_t *a)
{
    const char *top = NULL, *files[2] = { NULL, NULL };
    memset(a, 0, sizeof(*a));
    a->format = "md";
    const cli_opt_t opts[] = {
        { "--format", NULL, &a->format, NULL },
        { "--top", NULL, &top, NULL },
        { "-o", NULL, &a->out, NULL },
        { NULL, NULL, NULL, NULL },
    };
    const cli_args_t spec = { cmd, opts, usage, files, 2, 1, 0 };
    int rc = cli_parse(&spec, argc, argv, NULL);
    if (rc != CLI_OK)
        return rc;
    a->fa = files[0];
    a->fb = files[1];
    if (a->fb == NULL) {
        cli_error(cmd, "two input files needed (memscope diff A.bin B.bin)");
        return CLI_USAGE;
    }
    if (strcmp(a->format, "md") != 0 && strcmp(a->format, "json") != 0) {
        cli_error(cmd, "unknown format '%s' (md or json)", a->format);
        return CLI_USAGE;
    }
    char *end = NULL;
    a->top = top ? strtol(top, &end, 10) : strcmp(a->format, "md") == 0 ? 20 : 0;
    if (top != NULL && (*top == '\0' || *end != '\0' || a->top < 0)) {
        cli_error(cmd, "--top wants a whole number, not '%s'", top);
        return CLI_USAGE;
    }
    return CLI_OK;
}

static void
write_diff(ms_writer_t *w, const args_t *ar, const ms_report_t *a,
    const ms_report_t *b, table_t *t)
{
    static const char *names[] = { "sites", "tasks", "threads" };
    if (strcmp(ar->format, "md") == 0) {
        md_header(w, ar, a, b);
        md_summary(w, a, b);
        for (int i = 0; i < 3; i++)
            md_table(w, &t[i], ar->top);
        return;
    }
    ms_w_str(w, "{\"format\":\"memscope-diff\",\"version\":1,\"a\":");
    json_side(w, ar->fa, a);
    ms_w_str(w, ",\"b\":");
    json_side(w, ar->fb, b);
    ms_w_fmt(w, ",\"estimated\":%s", a->sample_interval || b->sample_interval ?
        "true" : "false");
    json_summary(w, a, b);
    for (int i = 0; i < 3; i++)
        json_table(w, &t[i], ar->top, names[i]);
    ms_w_str(w, "}\n");
}

static int
build_tables(const ms_report_t *a, const ms_report_t *b, table_t *t)
{
    t[0] = (table_t){ .title = "Sites by growth of live bytes", .what = "sites",
        .metric = { "live_bytes", "live_blocks", "allocs", "bytes_allocated" },
        .column = { "live bytes", "live blocks", "allocs", "bytes allocated" } };
    t[1] = (table_t){ .title = "Tasks by growth of live bytes", .what = "tasks",
        .metric = { "live_bytes", "peak_live_bytes", "allocs",
            "bytes_allocated" },
        .column = { "live bytes", "peak live bytes", "allocs",
            "bytes allocated" } };
    t[2] = (table_t){ .title = "Threads by growth of live bytes",
        .what = "threads",
        .metric = { "live_bytes", "allocs", "frees", "bytes_allocated" },
        .column = { "live bytes", "allocs", "frees", "bytes allocated" } };
    if (sites_list(a, &t[0].a) || sites_list(b, &t[0].b) ||
        tasks_list(a, &t[1].a) || tasks_list(b, &t[1].b) ||
        threads_list(a, &t[2].a) || threads_list(b, &t[2].b))
        return -1;
    for (int i = 0; i < 3; i++)
        if (table_match(&t[i]) != 0)
            return -1;
    return 0;
}

int
cmd_diff(int argc, char **argv)
{
    args_t ar;
    int rc = parse(argc, argv, &ar);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    cli_input_t a, b;
    if (cli_load(cmd, ar.fa, &a) != CLI_OK)
        return CLI_BAD;
    if (cli_load(cmd, ar.fb, &b) != CLI_OK) {
        cli_unload(&a);
        return CLI_BAD;
    }
    table_t t[3];
    memset(t, 0, sizeof(t));
    cli_progress("comparing", 0, 0);
    if (build_tables(a.r, b.r, t) != 0) {
        cli_error(cmd, "out of memory");
        rc = CLI_BAD;
    } else {
        cli_out_t o;
        rc = cli_out_open(cmd, &o, ar.out);
        if (rc == CLI_OK) {
            if (o.to_stdout && isatty(STDOUT_FILENO))
                cli_progress_done();    /* the diff shares the terminal */
            else
                cli_progress("writing", 0, 0);
            write_diff(o.w, &ar, a.r, b.r, t);
            rc = cli_out_close(cmd, &o);
        }
    }
    for (int i = 0; i < 3; i++) {
        list_free(&t[i].a);
        list_free(&t[i].b);
        free(t[i].rows);
    }
    cli_unload(&a);
    cli_unload(&b);
    return rc;
}
