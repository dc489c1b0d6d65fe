/*
 * bin.c - the binary report: every field of an ms_report_t, compact and
 * checked, so that any other format can be made again from it with the
 * same bytes (docs/format.md specifies it byte by byte; bin_read.c reads
 * it).
 *
 * The header gives the length of the file and of each section before their
 * bytes, and the writer streams: so each section is encoded twice, once to
 * count its bytes and once to write them. Only the string table, which
 * stores each distinct string once, is allocated.
 */
#include <errno.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "bin_read.h"
#include "export.h"
#include "report.h"
#include "writer.h"
#include "xalloc.h"

/* Distinct strings in first-seen order, found again through a hash. */
typedef struct {
    const char **strs;
    uint64_t *slots;        /* index + 1; 0 = empty */
    uint64_t n, mask;
} strtab_t;

typedef struct {
    ms_writer_t *w;
    XXH3_state_t *hash;
    strtab_t st;
    int emit;               /* 0: only count bytes */
    uint64_t n;             /* bytes counted or written */
    size_t len;
    unsigned char buf[4096];
} enc_t;

/* ---- the string table ----------------------------------------------------- */

static uint64_t *
slot_of(strtab_t *t, const char *s)
{
    uint64_t i = XXH3_64bits(s, strlen(s)) & t->mask;
    while (t->slots[i] != 0 && strcmp(t->strs[t->slots[i] - 1], s) != 0)
        i = (i + 1) & t->mask;
    return &t->slots[i];
}

static void
intern(strtab_t *t, const char *s)
{
    if (s == NULL)
        return;
    uint64_t *slot = slot_of(t, s);
    if (*slot == 0) {
        t->strs[t->n++] = s;
        *slot = t->n;
    }
}

static uint64_t
count_refs(const ms_report_t *r)
{
    uint64_t n = 4 + r->nthreads + r->ntasks + 4 * r->nframes +
        3 * r->nheap_errors;
    for (uint64_t i = 0; i < r->nvars; i++)
        n += 6 + r->vars[i].nowners;
    return n;
}

/* 0, or -1 when out of memory. */
static int
strtab_build(strtab_t *t, const ms_report_t *r)
{
    uint64_t refs = count_refs(r);
    t->mask = 63;
    while (t->mask < refs * 2)
        t->mask = t->mask * 2 + 1;
    t->strs = ms_xmalloc((size_t)refs * sizeof(*t->strs));
    t->slots = ms_xcalloc((size_t)(t->mask + 1) * sizeof(*t->slots));
    if (t->strs == NULL || t->slots == NULL)
        return -1;
    const char *head[] = { r->program, r->mode, r->trigger, r->byte_basis };
    for (size_t i = 0; i < 4; i++)
        intern(t, head[i]);
    for (uint64_t i = 0; i < r->nthreads; i++)
        intern(t, r->threads[i].name);
    for (uint64_t i = 0; i < r->ntasks; i++)
        intern(t, r->tasks[i].name);
    for (uint64_t i = 0; i < r->nvars; i++) {
        const ms_rvar_t *v = &r->vars[i];
        const char *s[] = { v->name, v->type, v->file, v->func, v->value,
            v->status };
        for (size_t k = 0; k < 6; k++)
            intern(t, s[k]);
        for (uint64_t k = 0; k < v->nowners; k++)
            intern(t, v->owners[k].owner);
    }
    for (uint64_t i = 0; i < r->nframes; i++) {
        intern(t, r->frames[i].func);
        intern(t, r->frames[i].file);
        intern(t, r->frames[i].module);
        intern(t, r->frames[i].build_id);
    }
    for (uint64_t i = 0; i < r->nheap_errors; i++) {
        intern(t, r->heap_errors[i].kind);
        intern(t, r->heap_errors[i].alloc_kind);
        intern(t, r->heap_errors[i].free_kind);
    }
    return 0;
}

static void
strtab_free(strtab_t *t)
{
    ms_xfree(t->strs);
    ms_xfree(t->slots);
}

/* ---- primitive encodings -------------------------------------------------- */

static void
flush(enc_t *e)
{
    if (e->len == 0)
        return;
    XXH3_64bits_update(e->hash, e->buf, e->len);
    ms_w_bytes(e->w, e->buf, e->len);
    e->len = 0;
}

static void
put(enc_t *e, const void *p, size_t n)
{
    e->n += n;
    if (!e->emit)
        return;
    if (e->len + n > sizeof(e->buf))
        flush(e);
    if (n > sizeof(e->buf)) {
        XXH3_64bits_update(e->hash, p, n);
        ms_w_bytes(e->w, p, n);
        return;
    }
    memcpy(e->buf + e->len, p, n);
    e->len += n;
}

static void
put_le(enc_t *e, uint64_t v, size_t n)
{
    unsigned char b[8];
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    put(e, b, n);
}

/* Unsigned LEB128: 7 bits a byte, low first, high bit = more follow.
 * Inline: a report is mostly small numbers (the counting pass only adds
 * up their lengths). */
static inline void
put_uv(enc_t *e, uint64_t v)
{
    if (!e->emit) {
        e->n += (size_t)(64 - __builtin_clzll(v | 1) + 6) / 7;
        return;
    }
    if (__builtin_expect(e->len + 10 <= sizeof(e->buf), 1)) {  /* no copy */
        unsigned char *b = e->buf + e->len;
        size_t n = 0;
        for (; v >= 0x80; v >>= 7)
            b[n++] = (unsigned char)(v | 0x80);
        b[n++] = (unsigned char)v;
        e->len += n;
        e->n += n;
        return;
    }
    unsigned char b[10];
    size_t n = 0;
    do {
        b[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v != 0)
            b[n] |= 0x80;
        n++;
    } while (v != 0);
    put(e, b, n);
}

/* Zigzag: 0, -1, 1, -2 ... become 0, 1, 2, 3 ... */
static void
put_sv(enc_t *e, int64_t v)
{
    uint64_t u = (uint64_t)v;
    put_uv(e, (u << 1) ^ (0 - (u >> 63)));
}

static void
put_f64(enc_t *e, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    put_le(e, u, 8);
}

static void
put_str(enc_t *e, const char *s)
{
    put_uv(e, s == NULL ? 0 : *slot_of(&e->st, s));
}

/* ---- sections ------------------------------------------------------------- */

static void
sec_strs(enc_t *e, const ms_report_t *r)
{
    (void)r;
    put_uv(e, e->st.n);
    for (uint64_t i = 0; i < e->st.n; i++) {
        size_t n = strlen(e->st.strs[i]);
        put_uv(e, n);
        put(e, e->st.strs[i], n);
    }
}

static void
sec_head(enc_t *e, const ms_report_t *r)
{
    put_str(e, r->program);
    put_sv(e, r->pid);
    put_str(e, r->mode);
    put_uv(e, r->sample_interval);
    put_uv(e, r->stack_depth);
    put_str(e, r->trigger);
    put_uv(e, r->snapshot);
    put_uv(e, r->start_unix_ns);
    put_uv(e, r->duration_ns);
    put_uv(e, r->clock_resolution_ns);
    put_uv(e, r->timeline_interval_ns);
    put_str(e, r->byte_basis);
}

static void
sec_summ(enc_t *e, const ms_report_t *r)
{
    uint64_t u1[] = { r->allocs, r->frees, r->reallocs, r->bytes_allocated,
        r->bytes_freed };
    int64_t s1[] = { r->live_blocks, r->live_bytes, r->peak_live_bytes };
    uint64_t u2[] = { r->dropped_events, r->untracked_frees, r->dropped_tasks,
        r->tracer_overhead_bytes, r->table_bytes, r->tracked_blocks,
        r->stacks };
    for (size_t i = 0; i < sizeof(u1) / sizeof(u1[0]); i++)
        put_uv(e, u1[i]);
    for (size_t i = 0; i < sizeof(s1) / sizeof(s1[0]); i++)
        put_sv(e, s1[i]);
    for (size_t i = 0; i < sizeof(u2) / sizeof(u2[0]); i++)
        put_uv(e, u2[i]);
    put_sv(e, r->rss);
    put_sv(e, r->peak_rss);
}

/* A counted array: its length, then its items. */
static void
put_counted(enc_t *e, const uint64_t *v, uint64_t n)
{
    put_uv(e, n);
    for (uint64_t i = 0; i < n; i++)
        put_uv(e, v[i]);
}

static void
sec_kind(enc_t *e, const ms_report_t *r)
{
    put_counted(e, r->alloc_kinds, MS_REPORT_ALLOC_KINDS);
    put_counted(e, r->free_kinds, MS_REPORT_FREE_KINDS);
}

static void
sec_aloc(enc_t *e, const ms_report_t *r)
{
    put_sv(e, r->je_allocated);
    put_sv(e, r->je_active);
    put_sv(e, r->je_resident);
    put_sv(e, r->je_mapped);
    put_sv(e, r->je_retained);
}

static void
sec_hist(enc_t *e, const ms_report_t *r)
{
    put_counted(e, r->size_hist, MS_REPORT_SIZE_BUCKETS);
    put_counted(e, r->life_hist, MS_REPORT_LIFE_BUCKETS);
}

static void
sec_thrd(enc_t *e, const ms_report_t *r)
{
    put_uv(e, r->nthreads);
    for (uint64_t i = 0; i < r->nthreads; i++) {
        const ms_rthread_t *t = &r->threads[i];
        put_uv(e, t->id);
        put_sv(e, t->tid);
        put_str(e, t->name);
        put_uv(e, t->exited);
        put_uv(e, t->allocs);
        put_uv(e, t->frees);
        put_uv(e, t->reallocs);
        put_uv(e, t->bytes_allocated);
        put_uv(e, t->bytes_freed);
        put_sv(e, t->live_bytes);
    }
}

static void
sec_task(enc_t *e, const ms_report_t *r)
{
    put_uv(e, r->ntasks);
    for (uint64_t i = 0; i < r->ntasks; i++) {
        const ms_rtask_t *t = &r->tasks[i];
        put_uv(e, t->id);
        put_uv(e, t->parent);
        put_str(e, t->name);
        put_uv(e, t->ended);
        put_uv(e, t->threads_seen);
        put_uv(e, t->begin_ns);
        put_uv(e, t->end_ns);
        put_uv(e, t->allocs);
        put_uv(e, t->frees);
        put_uv(e, t->bytes);
        put_uv(e, t->freed_bytes);
        put_sv(e, t->live_bytes);
        put_sv(e, t->peak_live_bytes);
    }
}

static void
put_var(enc_t *e, const ms_rvar_t *v)
{
    put_uv(e, v->id);
    put_uv(e, v->address);
    put_str(e, v->name);
    put_str(e, v->type);
    put_str(e, v->file);
    put_str(e, v->func);
    put_str(e, v->value);
    put_sv(e, v->line);
    put_uv(e, v->size);
    put_uv(e, v->elem_size);
    put_uv(e, v->count);
    put_uv(e, v->owned);
    put_str(e, v->status);
    put_uv(e, v->thread);
    put_uv(e, v->task);
    put_uv(e, v->site);
    put_uv(e, v->created_ns);
    put_uv(e, v->freed_ns);
    put_uv(e, v->nowners);
    for (uint64_t k = 0; k < v->nowners; k++) {
        put_str(e, v->owners[k].owner);
        put_uv(e, v->owners[k].t_ns);
    }
    put_uv(e, v->dropped_owners);
}

static void
sec_vars(enc_t *e, const ms_report_t *r)
{
    put_uv(e, r->nvars);
    for (uint64_t i = 0; i < r->nvars; i++)
        put_var(e, &r->vars[i]);
}

static void
sec_frms(enc_t *e, const ms_report_t *r)
{
    put_uv(e, r->nframes);
    for (uint64_t i = 0; i < r->nframes; i++) {
        const ms_rframe_t *f = &r->frames[i];
        put_uv(e, f->addr);
        put_uv(e, f->offset);
        put_str(e, f->func);
        put_str(e, f->file);
        put_str(e, f->module);
        put_sv(e, f->line);
        put_str(e, f->build_id);
        put_uv(e, f->flags);
    }
}

static void
put_site(enc_t *e, const ms_rsite_t *s)
{
    put_uv(e, s->id);
    put_uv(e, s->depth);
    for (uint64_t k = 0; k < s->depth; k++)
        put_uv(e, s->frames[k]);
    uint64_t u[] = { s->allocs, s->bytes, s->frees, s->freed_bytes,
        s->live_blocks, s->live_bytes, s->temporaries, s->usable_bytes,
        s->live_usable_bytes };
    for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
        put_uv(e, u[i]);
    put_f64(e, s->est_allocs);
    put_f64(e, s->est_bytes);
    put_f64(e, s->est_live_blocks);
    put_f64(e, s->est_live_bytes);
    for (int b = 0; b < MS_REPORT_LIFE_BUCKETS; b++)
        put_uv(e, s->life[b]);
}

static void
sec_site(enc_t *e, const ms_report_t *r)
{
    put_uv(e, r->nsites);
    for (uint64_t i = 0; i < r->nsites; i++)
        put_site(e, &r->sites[i]);
}

static void
put_frame_list(enc_t *e, const uint64_t *ix, uint64_t n)
{
    put_uv(e, n);
    for (uint64_t k = 0; k < n; k++)
        put_uv(e, ix[k]);
}

static void
sec_herr(enc_t *e, const ms_report_t *r)
{
    put_uv(e, r->dropped_heap_errors);
    put_uv(e, r->nheap_errors);
    for (uint64_t i = 0; i < r->nheap_errors; i++) {
        const ms_rherr_t *h = &r->heap_errors[i];
        put_str(e, h->kind);
        put_str(e, h->alloc_kind);
        put_str(e, h->free_kind);
        put_uv(e, h->address);
        put_uv(e, h->block);
        put_uv(e, h->size);
        put_uv(e, h->thread);
        put_uv(e, h->t_ns);
        put_frame_list(e, h->alloc_frames, h->nalloc_frames);
        put_frame_list(e, h->free_frames, h->nfree_frames);
    }
}

static void
sec_time(enc_t *e, const ms_report_t *r)
{
    put_uv(e, r->ntimeline);
    for (uint64_t i = 0; i < r->ntimeline; i++) {
        const ms_rpoint_t *p = &r->timeline[i];
        int64_t v[] = { p->heap_live, p->rss, p->cpu_ns, p->io_read,
            p->io_write, p->je_allocated, p->je_active, p->je_resident,
            p->je_mapped, p->je_retained };
        put_uv(e, p->t_ns);
        for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
            put_sv(e, v[k]);
    }
}

static void
put_classes(enc_t *e, const uint64_t *blocks, const uint64_t *bytes)
{
    for (int c = 0; c < MS_LEAK_CLASSES; c++) {
        put_uv(e, blocks[c]);
        put_uv(e, bytes[c]);
    }
}

static int
site_has_classes(const ms_rsite_t *s)
{
    for (int c = 0; c < MS_LEAK_CLASSES; c++)
        if (s->leak_blocks[c] || s->leak_bytes[c])
            return 1;
    return 0;
}

static void
sec_leak(enc_t *e, const ms_report_t *r)
{
    put_uv(e, r->leak_checked ? 1 : 0);
    if (!r->leak_checked)
        return;
    put_uv(e, MS_LEAK_CLASSES);
    put_classes(e, r->leak_blocks, r->leak_bytes);
    uint64_t n = 0;
    for (uint64_t i = 0; i < r->nsites; i++)
        n += site_has_classes(&r->sites[i]);
    put_uv(e, n);
    for (uint64_t i = 0; i < r->nsites; i++) {
        if (!site_has_classes(&r->sites[i]))
            continue;
        put_uv(e, i);
        put_classes(e, r->sites[i].leak_blocks, r->sites[i].leak_bytes);
    }
}

/* The rows: the estimates only in sampled mode (0 in exact mode). */
static void
sec_rows(enc_t *e, const ms_report_t *r)
{
    put_uv(e, r->nrows);
    for (uint64_t i = 0; i < r->nrows; i++) {
        const ms_rrow_t *w = &r->rows[i];
        uint64_t u[] = { w->site, w->thread, w->task, w->allocs, w->bytes,
            w->frees, w->freed_bytes };
        for (size_t k = 0; k < sizeof(u) / sizeof(u[0]); k++)
            put_uv(e, u[k]);
        if (r->sample_interval != 0) {
            put_f64(e, w->est_allocs);
            put_f64(e, w->est_bytes);
            put_f64(e, w->est_live_blocks);
            put_f64(e, w->est_live_bytes);
        }
    }
}

/* In file order: the required sections in the order of MS_BIN_TAGS, with
 * the optional kind section after SUMM, the leak and rows sections last. */
#define NWRITE (MS_BIN_NSECTIONS + 3)
static const char write_tags[4 * NWRITE + 1] =
    "STRSHEADSUMM" MS_BIN_KIND_TAG "ALOCHISTTHRDTASKVARSFRMSSITEHERRTIME"
    MS_BIN_LEAK_TAG MS_BIN_ROWS_TAG;
static void (*const sections[NWRITE])(enc_t *, const ms_report_t *) = {
    sec_strs, sec_head, sec_summ, sec_kind, sec_aloc, sec_hist, sec_thrd,
    sec_task, sec_vars, sec_frms, sec_site, sec_herr, sec_time, sec_leak,
    sec_rows,
};

/* ---- the file ------------------------------------------------------------- */

static void
write_file(enc_t *e, const ms_report_t *r, const uint64_t *size,
    uint64_t total)
{
    put(e, MS_BIN_MAGIC, MS_BIN_MAGIC_LEN);
    put_le(e, MS_BIN_VERSION, 2);
    put_le(e, 0, 2);                            /* flags */
    put_le(e, NWRITE, 4);
    put_le(e, total, 8);
    for (int i = 0; i < NWRITE; i++) {
        put(e, &write_tags[4 * i], 4);
        put_le(e, size[i], 8);
        uint64_t before = e->n;
        sections[i](e, r);
        if (e->n - before != size[i] && e->w->err == 0)
            e->w->err = EIO;    /* the report changed under us: never */
    }
    flush(e);
}

void
ms_bin_write(ms_writer_t *w, const ms_report_t *r)
{
    XXH3_state_t hash;
    enc_t *e = ms_xcalloc(sizeof(*e));
    if (e == NULL || strtab_build(&e->st, r) != 0) {
        if (w->err == 0)
            w->err = ENOMEM;    /* no file rather than a wrong one */
        if (e != NULL)
            strtab_free(&e->st);
        ms_xfree(e);
        return;
    }
    e->w = w;
    e->hash = &hash;
    uint64_t size[NWRITE];
    uint64_t total = MS_BIN_HEADER_LEN + MS_BIN_TRAILER_LEN;
    for (int i = 0; i < NWRITE; i++) {
        e->n = 0;
        sections[i](e, r);
        size[i] = e->n;
        total += MS_BIN_SECTION_LEN + size[i];
    }
    e->emit = 1;
    e->n = 0;
    XXH3_64bits_reset(&hash);
    write_file(e, r, size, total);
    uint64_t sum = XXH3_64bits_digest(&hash);
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(sum >> (8 * i));
    ms_w_bytes(w, b, sizeof(b));
    strtab_free(&e->st);
    ms_xfree(e);
}
