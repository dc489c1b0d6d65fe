/*
 * bin_read.c - reads a binary report (docs/format.md) back into an
 * ms_report_t, trusting nothing: the header, the length and checksum of
 * the file, then each section, where every varint, count, string index and
 * frame index is checked before it is used.
 *
 * Allocation is bounded by the input: a count is accepted only when the
 * bytes left could hold that many of the smallest record, and the strings
 * the report copies out of the string table may add up to at most
 * STR_BUDGET(len) bytes. The first problem found stops the read; its
 * message is kept and everything built so far is freed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "../exporters/bin_read.h"
#include "../exporters/report.h"
#include "../exporters/xalloc.h"

/* Strings copied into the report: 1 MiB plus 64 bytes per input byte. */
#define STR_BUDGET(len) (((uint64_t)1 << 20) + 64 * (uint64_t)(len))

typedef struct {
    const unsigned char *p;
    uint64_t len;
} rstr_t;

typedef struct {
    const unsigned char *base, *p, *end;
    const char *tag;            /* current section, NULL in the header */
    char *err;
    size_t errlen;
    int bad;
    rstr_t *strs;               /* the string table, pointing into base */
    uint64_t nstrs;
    uint64_t budget, budget0;   /* string bytes left to copy, at first */
    uint64_t version;           /* the file's format version */
    ms_report_t *r;
} rd_t;

/* Records the first error; later ones are consequences. */
__attribute__((format(printf, 2, 3))) static void
fail(rd_t *c, const char *fmt, ...)
{
    if (c->bad)
        return;
    c->bad = 1;
    if (c->errlen == 0)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->tag != NULL)
        snprintf(c->err, c->errlen, "section %.4s at byte %llu: %s", c->tag,
            (unsigned long long)(c->p - c->base), msg);
    else
        snprintf(c->err, c->errlen, "%s", msg);
}

static uint64_t
left(const rd_t *c)
{
    return (uint64_t)(c->end - c->p);
}

static uint64_t
get_le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* ---- primitive decodings -------------------------------------------------- */

static uint64_t
rd_uv(rd_t *c)
{
    uint64_t v = 0;
    for (unsigned shift = 0; !c->bad; shift += 7) {
        if (c->p >= c->end) {
            fail(c, "a value runs past the end of the section");
            break;
        }
        unsigned b = *c->p++;
        if (shift == 63 && b > 1) {
            fail(c, "a varint overflows 64 bits");
            break;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (b == 0 && shift > 0)
                fail(c, "a varint is not in its shortest form");
            return c->bad ? 0 : v;
        }
    }
    return 0;
}

static int64_t
rd_sv(rd_t *c)
{
    uint64_t u = rd_uv(c);
    return (int64_t)((u >> 1) ^ (0 - (u & 1)));
}

static double
rd_f64(rd_t *c)
{
    double d = 0;
    if (c->bad)
        return d;
    if (left(c) < 8) {
        fail(c, "a double runs past the end of the section");
        return d;
    }
    uint64_t u = get_le(c->p, 8);
    c->p += 8;
    memcpy(&d, &u, sizeof(d));
    return d;
}

/* A string reference: NULL for 0 (absent) or on error. */
static char *
rd_str(rd_t *c)
{
    uint64_t ix = rd_uv(c);
    if (c->bad || ix == 0)
        return NULL;
    if (ix > c->nstrs) {
        fail(c, "string index %llu out of range (%llu strings)",
            (unsigned long long)ix, (unsigned long long)c->nstrs);
        return NULL;
    }
    const rstr_t *s = &c->strs[ix - 1];
    if (s->len + 1 > c->budget) {
        fail(c, "the strings expand to more than %llu bytes, too many for "
            "a file of this size", (unsigned long long)c->budget0);
        return NULL;
    }
    c->budget -= s->len + 1;
    char *d = ms_xmalloc((size_t)s->len + 1);
    if (d == NULL) {
        fail(c, "out of memory");
        return NULL;
    }
    memcpy(d, s->p, (size_t)s->len);
    d[s->len] = '\0';
    return d;
}

/* A string that must be present. */
static char *
rd_str_req(rd_t *c, const char *what)
{
    char *s = rd_str(c);
    if (s == NULL)
        fail(c, "%s is missing", what);
    return s;
}

/* A count of records at least min_size bytes each: no more than the bytes
 * left can hold, so what it allocates is bounded by the input. */
static uint64_t
rd_count(rd_t *c, uint64_t min_size, const char *what)
{
    uint64_t n = rd_uv(c);
    if (!c->bad && n > left(c) / min_size) {
        fail(c, "%llu %s cannot fit in the %llu bytes left",
            (unsigned long long)n, what, (unsigned long long)left(c));
        return 0;
    }
    return c->bad ? 0 : n;
}

/* Zeroed room for n items of size bytes; NULL (and an error) on failure. */
static void *
rd_array(rd_t *c, uint64_t n, size_t size)
{
    if (c->bad)
        return NULL;
    if (n > SIZE_MAX / size / 2) {
        fail(c, "too many records");
        return NULL;
    }
    void *p = ms_xcalloc((size_t)(n ? n : 1) * size);
    if (p == NULL)
        fail(c, "out of memory");
    return p;
}

/* ---- sections ------------------------------------------------------------- */

static void
sec_strs(rd_t *c)
{
    uint64_t n = rd_count(c, 1, "strings");
    c->strs = rd_array(c, n, sizeof(*c->strs));
    for (uint64_t i = 0; i < n && !c->bad; i++) {
        uint64_t len = rd_uv(c);
        if (c->bad)
            break;
        if (len > left(c)) {
            fail(c, "string %llu runs past the end of the section",
                (unsigned long long)i);
            break;
        }
        if (memchr(c->p, '\0', (size_t)len) != NULL) {
            fail(c, "string %llu holds a NUL byte", (unsigned long long)i);
            break;
        }
        c->strs[i].p = c->p;
        c->strs[i].len = len;
        c->p += len;
        c->nstrs = i + 1;
    }
}

static void
sec_head(rd_t *c)
{
    ms_report_t *r = c->r;
    r->program = rd_str_req(c, "the program name");
    r->pid = rd_sv(c);
    r->mode = rd_str_req(c, "the mode");
    r->sample_interval = rd_uv(c);
    r->stack_depth = rd_uv(c);
    r->trigger = rd_str_req(c, "the trigger");
    r->snapshot = rd_uv(c);
    r->start_unix_ns = rd_uv(c);
    r->duration_ns = rd_uv(c);
    r->clock_resolution_ns = rd_uv(c);
    r->timeline_interval_ns = rd_uv(c);
    r->byte_basis = rd_str_req(c, "the byte basis");
}

static void
sec_summ(rd_t *c)
{
    ms_report_t *r = c->r;
    r->allocs = rd_uv(c);
    r->frees = rd_uv(c);
    r->reallocs = rd_uv(c);
    r->bytes_allocated = rd_uv(c);
    r->bytes_freed = rd_uv(c);
    r->live_blocks = rd_sv(c);
    r->live_bytes = rd_sv(c);
    r->peak_live_bytes = rd_sv(c);
    r->dropped_events = rd_uv(c);
    r->untracked_frees = rd_uv(c);
    r->dropped_tasks = rd_uv(c);
    r->tracer_overhead_bytes = rd_uv(c);
    r->table_bytes = rd_uv(c);
    r->tracked_blocks = rd_uv(c);
    r->stacks = rd_uv(c);
    r->rss = rd_sv(c);
    r->peak_rss = rd_sv(c);
}

static void
sec_aloc(rd_t *c)
{
    ms_report_t *r = c->r;
    r->je_allocated = rd_sv(c);
    r->je_active = rd_sv(c);
    r->je_resident = rd_sv(c);
    r->je_mapped = rd_sv(c);
    r->je_retained = rd_sv(c);
}

static void
rd_buckets(rd_t *c, uint64_t *dst, uint64_t want, const char *what)
{
    uint64_t n = rd_uv(c);
    if (!c->bad && n != want) {
        fail(c, "%s has %llu buckets, version %llu has %llu", what,
            (unsigned long long)n, (unsigned long long)c->version,
            (unsigned long long)want);
        return;
    }
    for (uint64_t b = 0; b < want && !c->bad; b++)
        dst[b] = rd_uv(c);
}

static void
sec_hist(rd_t *c)
{
    rd_buckets(c, c->r->size_hist, MS_REPORT_SIZE_BUCKETS,
        "the size histogram");
    rd_buckets(c, c->r->life_hist, MS_REPORT_LIFE_BUCKETS,
        "the lifetime histogram");
}

static void
sec_thrd(rd_t *c)
{
    ms_report_t *r = c->r;
    uint64_t n = rd_count(c, 10, "threads");
    r->threads = rd_array(c, n, sizeof(*r->threads));
    if (r->threads != NULL)
        r->nthreads = n;
    for (uint64_t i = 0; i < r->nthreads && !c->bad; i++) {
        ms_rthread_t *t = &r->threads[i];
        t->id = rd_uv(c);
        t->tid = rd_sv(c);
        t->name = rd_str(c);
        t->exited = rd_uv(c);
        t->allocs = rd_uv(c);
        t->frees = rd_uv(c);
        t->reallocs = rd_uv(c);
        t->bytes_allocated = rd_uv(c);
        t->bytes_freed = rd_uv(c);
        t->live_bytes = rd_sv(c);
    }
}

static void
sec_task(rd_t *c)
{
    ms_report_t *r = c->r;
    uint64_t n = rd_count(c, 13, "tasks");
    r->tasks = rd_array(c, n, sizeof(*r->tasks));
    if (r->tasks != NULL)
        r->ntasks = n;
    for (uint64_t i = 0; i < r->ntasks && !c->bad; i++) {
        ms_rtask_t *t = &r->tasks[i];
        t->id = rd_uv(c);
        t->parent = rd_uv(c);
        t->name = rd_str(c);
        t->ended = rd_uv(c);
        t->threads_seen = rd_uv(c);
        t->begin_ns = rd_uv(c);
        t->end_ns = rd_uv(c);
        t->allocs = rd_uv(c);
        t->frees = rd_uv(c);
        t->bytes = rd_uv(c);
        t->freed_bytes = rd_uv(c);
        t->live_bytes = rd_sv(c);
        t->peak_live_bytes = rd_sv(c);
    }
}

static void
rd_owners(rd_t *c, ms_rvar_t *v)
{
    uint64_t n = rd_count(c, 2, "owners");
    v->owners = n ? rd_array(c, n, sizeof(*v->owners)) : NULL;
    if (v->owners != NULL)
        v->nowners = n;
    for (uint64_t k = 0; k < v->nowners && !c->bad; k++) {
        v->owners[k].owner = rd_str(c);
        v->owners[k].t_ns = rd_uv(c);
    }
}

static void
rd_var(rd_t *c, ms_rvar_t *v)
{
    v->id = rd_uv(c);
    v->address = rd_uv(c);
    v->name = rd_str(c);
    v->type = rd_str(c);
    v->file = rd_str(c);
    v->func = rd_str(c);
    v->value = rd_str(c);
    v->line = rd_sv(c);
    v->size = rd_uv(c);
    v->elem_size = rd_uv(c);
    v->count = rd_uv(c);
    v->owned = rd_uv(c);
    v->status = rd_str_req(c, "a variable's status");
    v->thread = rd_uv(c);
    v->task = rd_uv(c);
    v->site = rd_uv(c);
    v->created_ns = rd_uv(c);
    v->freed_ns = rd_uv(c);
    rd_owners(c, v);
    v->dropped_owners = rd_uv(c);
}

static void
sec_vars(rd_t *c)
{
    ms_report_t *r = c->r;
    uint64_t n = rd_count(c, 20, "variables");
    r->vars = rd_array(c, n, sizeof(*r->vars));
    if (r->vars != NULL)
        r->nvars = n;
    for (uint64_t i = 0; i < r->nvars && !c->bad; i++)
        rd_var(c, &r->vars[i]);
}

static void
sec_frms(rd_t *c)
{
    ms_report_t *r = c->r;
    uint64_t n = rd_count(c, c->version >= 2 ? 8 : 6, "frames");
    r->frames = rd_array(c, n, sizeof(*r->frames));
    if (r->frames != NULL)
        r->nframes = n;
    for (uint64_t i = 0; i < r->nframes && !c->bad; i++) {
        ms_rframe_t *f = &r->frames[i];
        f->addr = rd_uv(c);
        f->offset = rd_uv(c);
        f->func = rd_str(c);
        f->file = rd_str(c);
        f->module = rd_str(c);
        f->line = rd_sv(c);
        if (c->version >= 2) {      /* version 1 has neither */
            f->build_id = rd_str(c);
            f->flags = rd_uv(c);
            if (!c->bad && (f->flags & ~(uint64_t)MS_RFRAME_INLINED))
                fail(c, "frame %llu has unknown flags 0x%llx",
                    (unsigned long long)i, (unsigned long long)f->flags);
        }
    }
}

/* A list of frame indexes, each checked. */
static uint64_t *
rd_frame_list(rd_t *c, uint64_t *n)
{
    uint64_t depth = rd_count(c, 1, "frames");
    uint64_t *ix = depth ? rd_array(c, depth, sizeof(*ix)) : NULL;
    *n = ix != NULL ? depth : 0;
    for (uint64_t k = 0; k < *n && !c->bad; k++) {
        ix[k] = rd_uv(c);
        if (!c->bad && ix[k] >= c->r->nframes)
            fail(c, "frame index %llu out of range (%llu frames)",
                (unsigned long long)ix[k], (unsigned long long)c->r->nframes);
    }
    return ix;
}

static void
rd_site(rd_t *c, ms_rsite_t *s)
{
    s->id = rd_uv(c);
    s->frames = rd_frame_list(c, &s->depth);
    s->allocs = rd_uv(c);
    s->bytes = rd_uv(c);
    s->frees = rd_uv(c);
    s->freed_bytes = rd_uv(c);
    s->live_blocks = rd_uv(c);
    s->live_bytes = rd_uv(c);
    s->temporaries = rd_uv(c);
    s->usable_bytes = rd_uv(c);
    s->live_usable_bytes = rd_uv(c);
    s->est_allocs = rd_f64(c);
    s->est_bytes = rd_f64(c);
    s->est_live_blocks = rd_f64(c);
    s->est_live_bytes = rd_f64(c);
    for (int b = 0; b < MS_REPORT_LIFE_BUCKETS; b++)
        s->life[b] = rd_uv(c);
}

static void
sec_site(rd_t *c)
{
    ms_report_t *r = c->r;
    uint64_t n = rd_count(c, 11 + 32 + MS_REPORT_LIFE_BUCKETS, "sites");
    r->sites = rd_array(c, n, sizeof(*r->sites));
    if (r->sites != NULL)
        r->nsites = n;
    for (uint64_t i = 0; i < r->nsites && !c->bad; i++)
        rd_site(c, &r->sites[i]);
}

static void
sec_herr(rd_t *c)
{
    ms_report_t *r = c->r;
    r->dropped_heap_errors = rd_uv(c);
    uint64_t n = rd_count(c, 10, "heap errors");
    r->heap_errors = rd_array(c, n, sizeof(*r->heap_errors));
    if (r->heap_errors != NULL)
        r->nheap_errors = n;
    for (uint64_t i = 0; i < r->nheap_errors && !c->bad; i++) {
        ms_rherr_t *h = &r->heap_errors[i];
        h->kind = rd_str(c);
        h->alloc_kind = rd_str(c);
        h->free_kind = rd_str(c);
        h->address = rd_uv(c);
        h->block = rd_uv(c);
        h->size = rd_uv(c);
        h->thread = rd_uv(c);
        h->t_ns = rd_uv(c);
        h->alloc_frames = rd_frame_list(c, &h->nalloc_frames);
        if (!c->bad)
            h->free_frames = rd_frame_list(c, &h->nfree_frames);
    }
}

static void
sec_time(rd_t *c)
{
    ms_report_t *r = c->r;
    uint64_t n = rd_count(c, 11, "timeline points");
    r->timeline = rd_array(c, n, sizeof(*r->timeline));
    if (r->timeline != NULL)
        r->ntimeline = n;
    for (uint64_t i = 0; i < r->ntimeline && !c->bad; i++) {
        ms_rpoint_t *p = &r->timeline[i];
        p->t_ns = rd_uv(c);
        p->heap_live = rd_sv(c);
        p->rss = rd_sv(c);
        p->cpu_ns = rd_sv(c);
        p->io_read = rd_sv(c);
        p->io_write = rd_sv(c);
        p->je_allocated = rd_sv(c);
        p->je_active = rd_sv(c);
        p->je_resident = rd_sv(c);
        p->je_mapped = rd_sv(c);
        p->je_retained = rd_sv(c);
    }
}

/* The optional kinds: as many as this reader knows; more is an error. */
static void
rd_kinds(rd_t *c, uint64_t *dst, uint64_t want, const char *what)
{
    uint64_t n = rd_uv(c);
    if (!c->bad && n != want) {
        fail(c, "%llu %s kinds, this reader knows %llu",
            (unsigned long long)n, what, (unsigned long long)want);
        return;
    }
    for (uint64_t k = 0; k < want && !c->bad; k++)
        dst[k] = rd_uv(c);
}

static void
sec_kind(rd_t *c)
{
    rd_kinds(c, c->r->alloc_kinds, MS_REPORT_ALLOC_KINDS, "allocation");
    rd_kinds(c, c->r->free_kinds, MS_REPORT_FREE_KINDS, "release");
}

/* The optional leak classes: as many classes as this reader knows, each
 * site named once by its index, in increasing order. */
static void
rd_classes(rd_t *c, uint64_t *blocks, uint64_t *bytes)
{
    for (int k = 0; k < MS_LEAK_CLASSES && !c->bad; k++) {
        blocks[k] = rd_uv(c);
        bytes[k] = rd_uv(c);
    }
}

static void
sec_leak(rd_t *c)
{
    ms_report_t *r = c->r;
    uint64_t checked = rd_uv(c);
    if (c->bad || checked == 0)
        return;
    if (checked != 1) {
        fail(c, "leak classes flag %llu, expected 0 or 1",
            (unsigned long long)checked);
        return;
    }
    uint64_t n = rd_uv(c);
    if (!c->bad && n != MS_LEAK_CLASSES) {
        fail(c, "%llu leak classes, this reader knows %d",
            (unsigned long long)n, MS_LEAK_CLASSES);
        return;
    }
    rd_classes(c, r->leak_blocks, r->leak_bytes);
    n = rd_uv(c);
    if (!c->bad && n > r->nsites) {
        fail(c, "leak classes for %llu sites, the report has %llu",
            (unsigned long long)n, (unsigned long long)r->nsites);
        return;
    }
    uint64_t prev = 0;
    for (uint64_t i = 0; i < n && !c->bad; i++) {
        uint64_t ix = rd_uv(c);
        if (!c->bad && (ix >= r->nsites || (i > 0 && ix <= prev))) {
            fail(c, "leak classes of site index %llu: out of range or out "
                "of order", (unsigned long long)ix);
            return;
        }
        prev = ix;
        rd_classes(c, r->sites[ix].leak_blocks, r->sites[ix].leak_bytes);
    }
    if (!c->bad)
        r->leak_checked = 1;
}

/* The optional rows: none, or each of an existing site, in increasing
 * (site, thread, task) order, and each site's rows adding up to its
 * observed figures. */
static int
row_after(const ms_rrow_t *a, const ms_rrow_t *b)
{
    if (a->site != b->site)
        return a->site > b->site;
    if (a->thread != b->thread)
        return a->thread > b->thread;
    return a->task > b->task;
}

static void
sec_rows(rd_t *c)
{
    ms_report_t *r = c->r;
    int est = r->sample_interval != 0;
    uint64_t n = rd_count(c, est ? 7 + 32 : 7, "rows");
    ms_rrow_t *rows = rd_array(c, n, sizeof(*rows));
    uint64_t (*sum)[4] = rd_array(c, r->nsites, sizeof(*sum));
    for (uint64_t i = 0; rows != NULL && sum != NULL && i < n && !c->bad; i++) {
        ms_rrow_t *w = &rows[i];
        w->site = rd_uv(c);
        w->thread = rd_uv(c);
        w->task = rd_uv(c);
        w->allocs = rd_uv(c);
        w->bytes = rd_uv(c);
        w->frees = rd_uv(c);
        w->freed_bytes = rd_uv(c);
        if (est) {
            w->est_allocs = rd_f64(c);
            w->est_bytes = rd_f64(c);
            w->est_live_blocks = rd_f64(c);
            w->est_live_bytes = rd_f64(c);
        }
        if (!c->bad && (w->site >= r->nsites ||
                (i > 0 && !row_after(w, &rows[i - 1])))) {
            fail(c, "row %llu: site index %llu out of range or out of order",
                (unsigned long long)i, (unsigned long long)w->site);
            break;
        }
        if (c->bad)
            break;
        sum[w->site][0] += w->allocs;
        sum[w->site][1] += w->bytes;
        sum[w->site][2] += w->frees;
        sum[w->site][3] += w->freed_bytes;
    }
    /* none at all: a report without rows (as one without the section) */
    for (uint64_t i = 0; sum != NULL && n > 0 && i < r->nsites && !c->bad; i++) {
        const ms_rsite_t *s = &r->sites[i];
        if (sum[i][0] != s->allocs || sum[i][1] != s->bytes ||
            sum[i][2] != s->frees || sum[i][3] != s->freed_bytes)
            fail(c, "the rows of site %llu do not add up to its figures",
                (unsigned long long)i);
    }
    ms_xfree(sum);
    if (c->bad) {
        ms_xfree(rows);
        return;
    }
    r->rows = rows;
    r->nrows = n;
}

static void (*const sections[MS_BIN_NSECTIONS])(rd_t *) = {
    sec_strs, sec_head, sec_summ, sec_aloc, sec_hist, sec_thrd, sec_task,
    sec_vars, sec_frms, sec_site, sec_herr, sec_time,
};

/* ---- the file ------------------------------------------------------------- */

/* tag as printable text, for messages */
static void
tag_text(const unsigned char *tag, char out[5])
{
    for (int i = 0; i < 4; i++)
        out[i] = tag[i] >= 0x20 && tag[i] < 0x7f ? (char)tag[i] : '?';
    out[4] = '\0';
}

static int
tag_index(const unsigned char *tag)
{
    for (int i = 0; i < MS_BIN_NSECTIONS; i++)
        if (memcmp(tag, &MS_BIN_TAGS[4 * i], 4) == 0)
            return i;
    return -1;
}

/* Checks a section's place in the file: 1 to read it, 0 to skip it (an
 * optional section this reader does not know), -1 on error. */
static int
section_place(rd_t *c, const unsigned char *tag, int k, int next)
{
    char t[5], want[5] = "";
    tag_text(tag, t);
    if (next < MS_BIN_NSECTIONS)
        memcpy(want, &MS_BIN_TAGS[4 * next], 4);
    if (k < 0 && tag[0] >= 'a' && tag[0] <= 'z')
        return 0;
    if (k < 0)
        fail(c, "unknown required section '%s' at byte %llu", t,
            (unsigned long long)(tag - c->base));
    else if (k != next)
        fail(c, "section %s at byte %llu comes where %s%s was expected", t,
            (unsigned long long)(tag - c->base), want[0] ? "section " : "",
            want[0] ? want : "the end");
    return k == next ? 1 : -1;
}

/* The optional sections this reader knows, in file order: the kinds
 * right after SUMM, then the leak classes and the rows after TIME. */
static const struct {
    const char *tag;
    int place;              /* the number of required sections before it */
    void (*fn)(rd_t *);
} optional[] = {
    { MS_BIN_KIND_TAG, MS_BIN_SUMM + 1, sec_kind },
    { MS_BIN_LEAK_TAG, MS_BIN_NSECTIONS, sec_leak },
    { MS_BIN_ROWS_TAG, MS_BIN_NSECTIONS, sec_rows },
};

static int
optional_index(const unsigned char *tag)
{
    for (int i = 0; i < (int)(sizeof(optional) / sizeof(optional[0])); i++)
        if (memcmp(tag, optional[i].tag, 4) == 0)
            return i;
    return -1;
}

/* Reads the payload [p, p + plen) with fn, as section tag. */
static void
read_payload(rd_t *c, const char *tag, const unsigned char *p, uint64_t plen,
    void (*fn)(rd_t *))
{
    c->p = p;
    c->end = p + plen;
    c->tag = tag;
    fn(c);
    if (!c->bad && c->p != c->end)
        fail(c, "%llu unread bytes at the end of the section",
            (unsigned long long)left(c));
    c->tag = NULL;
}

static void
read_sections(rd_t *c, uint64_t count, size_t len)
{
    const unsigned char *p = c->base + MS_BIN_HEADER_LEN;
    const unsigned char *end = c->base + len - MS_BIN_TRAILER_LEN;
    int next = 0, last_opt = -1;
    for (uint64_t i = 0; i < count && !c->bad; i++) {
        if (end - p < MS_BIN_SECTION_LEN) {
            fail(c, "the header announces %llu sections, the data ends after "
                "%llu", (unsigned long long)count, (unsigned long long)i);
            return;
        }
        const unsigned char *tag = p;
        uint64_t plen = get_le(p + 4, 8);
        p += MS_BIN_SECTION_LEN;
        if (plen > (uint64_t)(end - p)) {
            char t[5];
            tag_text(tag, t);
            fail(c, "section %s at byte %llu claims %llu bytes, %llu are left",
                t, (unsigned long long)(tag - c->base),
                (unsigned long long)plen, (unsigned long long)(end - p));
            return;
        }
        int k = tag_index(tag);
        int o = optional_index(tag);
        if (o >= 0) {
            /* a known optional section: once, in its place, in the order
             * of the table */
            if (next != optional[o].place || o <= last_opt) {
                fail(c, "section %.4s at byte %llu is out of place or "
                    "repeated", optional[o].tag,
                    (unsigned long long)(tag - c->base));
                return;
            }
            last_opt = o;
            read_payload(c, optional[o].tag, p, plen, optional[o].fn);
            p += plen;
            continue;
        }
        int place = section_place(c, tag, k, next);
        if (place == 1) {
            read_payload(c, &MS_BIN_TAGS[4 * k], p, plen, sections[k]);
            next++;
        }
        p += plen;
    }
    if (!c->bad && next < MS_BIN_NSECTIONS)
        fail(c, "section %.4s is missing", &MS_BIN_TAGS[4 * next]);
    else if (!c->bad && p != end)
        fail(c, "%llu bytes follow the %llu sections the header announces",
            (unsigned long long)(end - p), (unsigned long long)count);
}

/* The fixed header and the checksum; 0 or -1 (with the error set). */
static int
check_file(rd_t *c, size_t len, uint64_t *count)
{
    const unsigned char *b = c->base;
    size_t m = len < MS_BIN_MAGIC_LEN ? len : MS_BIN_MAGIC_LEN;
    if (len == 0)
        fail(c, "empty file");
    else if (memcmp(b, MS_BIN_MAGIC, m) != 0)
        fail(c, "not a memscope binary report (bad magic number)");
    else if (len < MS_BIN_HEADER_LEN + MS_BIN_TRAILER_LEN)
        fail(c, "truncated file (%zu bytes, shorter than a header)", len);
    if (c->bad)
        return -1;
    uint64_t version = get_le(b + 8, 2), flags = get_le(b + 10, 2);
    uint64_t flen = get_le(b + 16, 8);
    *count = get_le(b + 12, 4);
    c->version = version;
    if (version != MS_BIN_VERSION && version != 1)
        fail(c, "unsupported format version %llu (this memscope reads "
            "versions 1 to %d)", (unsigned long long)version, MS_BIN_VERSION);
    else if (flags != 0)
        fail(c, "unknown header flags 0x%llx", (unsigned long long)flags);
    else if (flen > len)
        fail(c, "truncated file (%zu of %llu bytes)", len,
            (unsigned long long)flen);
    else if (flen < len)
        fail(c, "%zu unexpected bytes after the end of the report",
            len - (size_t)flen);
    else if (XXH3_64bits(b, len - MS_BIN_TRAILER_LEN) !=
             get_le(b + len - MS_BIN_TRAILER_LEN, 8))
        fail(c, "checksum mismatch: the file is corrupted");
    return c->bad ? -1 : 0;
}

int
ms_bin_read(const void *buf, size_t len, ms_report_t **out, char *err,
    size_t errlen)
{
    rd_t c = { .base = buf, .err = err, .errlen = errlen };
    uint64_t count = 0;
    *out = NULL;
    if (errlen > 0)
        err[0] = '\0';
    if (buf == NULL && len > 0) {
        fail(&c, "no data");
        return -1;
    }
    if (check_file(&c, len, &count) != 0)
        return -1;
    c.budget = c.budget0 = STR_BUDGET(len);
    c.r = ms_xcalloc(sizeof(*c.r));
    if (c.r == NULL) {
        fail(&c, "out of memory");
        return -1;
    }
    read_sections(&c, count, len);
    ms_xfree(c.strs);
    if (c.bad) {
        ms_report_free(c.r);
        return -1;
    }
    *out = c.r;
    return 0;
}

size_t
ms_bin_sections(const void *buf, size_t len, ms_bin_section_t *out,
    size_t max)
{
    const unsigned char *b = buf;
    if (len < MS_BIN_HEADER_LEN + MS_BIN_TRAILER_LEN)
        return 0;
    uint64_t off = MS_BIN_HEADER_LEN, end = len - MS_BIN_TRAILER_LEN;
    size_t n = 0;
    while (end - off >= MS_BIN_SECTION_LEN) {
        uint64_t plen = get_le(b + off + 4, 8);
        if (plen > end - off - MS_BIN_SECTION_LEN)
            break;
        if (n < max) {
            tag_text(b + off, out[n].tag);
            out[n].offset = off + MS_BIN_SECTION_LEN;
            out[n].length = plen;
        }
        n++;
        off += MS_BIN_SECTION_LEN + plen;
    }
    return n;
}

uint64_t
ms_bin_checksum(const void *buf, size_t len)
{
    if (len < MS_BIN_TRAILER_LEN)
        return 0;
    return get_le((const unsigned char *)buf + len - MS_BIN_TRAILER_LEN, 8);
}
