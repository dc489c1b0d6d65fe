/*
 * html.c - the HTML report: one self-contained file that opens in any
 * browser without network access. Its style sheet and script are inline:
 * they are the files in exporters/html/, which the build turns into the
 * strings of html_assets.h (build/gen/, made by exporters/html/embed.c);
 * its Content-Security-Policy forbids every fetch and
 * lets run only that script, named by its SHA-256. The report's data goes
 * in as one JSON object in a <script type="application/json"> block
 * (ms_w_jstr escapes < > &, so no string can close it), and the script
 * builds every panel from it, putting the traced program's strings into
 * the page as text only. Figures that were not measured are null and show
 * as "not measured". docs/html.md describes the panels.
 *
 * The markdown summary (md.c) is rendered with libcmark: linked into the
 * memscope tool, opened with dlopen by the library (which does not link
 * it) when a report is written, and given the exporters' allocator, so
 * that it never touches the program's heap. Without it the summary shows
 * as preformatted text.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmark.h>
#ifdef MS_IN_LIBRARY
#include <dlfcn.h>
#endif

#include "memscope.h"
#include "export.h"
#include "html_assets.h"
#include "md.h"
#include "report.h"
#include "writer.h"
#include "xalloc.h"

/* ---- SHA-256 (FIPS 180-4), for the script's hash in the policy ---------- */

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void
sha_block(uint32_t st[8], const unsigned char *p)
{
    uint32_t w[64], v[8];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
            (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(v, st, sizeof(v));
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = v[7] + (ROR(v[4], 6) ^ ROR(v[4], 11) ^ ROR(v[4], 25)) +
            ((v[4] & v[5]) ^ (~v[4] & v[6])) + sha_k[i] + w[i];
        uint32_t t2 = (ROR(v[0], 2) ^ ROR(v[0], 13) ^ ROR(v[0], 22)) +
            ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
        memmove(v + 1, v, 7 * sizeof(v[0]));
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++)
        st[i] += v[i];
}

/* The base64 SHA-256 of p[0..n) into out (45 bytes with the NUL). */
static void
sha256_b64(const void *data, size_t n, char out[45])
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t st[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    const unsigned char *p = data;
    unsigned char tail[128] = { 0 }, d[33] = { 0 };
    size_t full = n / 64 * 64, rest = n - full;
    for (size_t i = 0; i < full; i += 64)
        sha_block(st, p + i);
    memcpy(tail, p + full, rest);
    tail[rest] = 0x80;
    size_t tl = rest < 56 ? 64 : 128;
    for (int i = 0; i < 8; i++)
        tail[tl - 1 - i] = (unsigned char)((uint64_t)n * 8 >> (8 * i));
    for (size_t i = 0; i < tl; i += 64)
        sha_block(st, tail + i);
    for (int i = 0; i < 32; i++)
        d[i] = (unsigned char)(st[i / 4] >> (24 - 8 * (i % 4)));
    for (int i = 0, o = 0; i < 33; i += 3, o += 4) {
        uint32_t x = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
        out[o] = b64[x >> 18];
        out[o + 1] = b64[(x >> 12) & 63];
        out[o + 2] = b64[(x >> 6) & 63];
        out[o + 3] = i + 2 < 32 ? b64[x & 63] : '=';
    }
    out[44] = '\0';
}

/* ---- the data block --------------------------------------------------------- */

static void
num_or_null(ms_writer_t *w, int64_t v)
{
    if (v < 0)
        ms_w_str(w, "null");
    else
        ms_w_i64(w, v);
}

/* A key after the first of its object. */
static void
key(ms_writer_t *w, const char *k)
{
    ms_w_jkey(w, k, NULL);
}

/* The script's hash, the same for every page: made once per process (the
 * tool writes the pages of all the processes of a run). */
static char js_hash[45];
static pthread_once_t js_hash_once = PTHREAD_ONCE_INIT;

static void
js_hash_make(void)
{
    sha256_b64(ms_html_js, sizeof(ms_html_js) - 1, js_hash);
}

static void
write_head(ms_writer_t *w, const ms_report_t *r)
{
    pthread_once(&js_hash_once, js_hash_make);
    const char *hash = js_hash;
    ms_w_str(w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
        "<meta charset=\"utf-8\">\n"
        "<meta http-equiv=\"Content-Security-Policy\" content=\""
        "default-src 'none'; script-src 'sha256-");
    ms_w_str(w, hash);
    ms_w_str(w, "'; style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, "
        "initial-scale=1\">\n<meta name=\"referrer\" content=\"no-referrer\">\n"
        "<meta name=\"generator\" content=\"memscope "
        MEMSCOPE_VERSION_STRING "\">\n<title>memscope: ");
    ms_w_html(w, r->program ? r->program : "(unknown program)");
    ms_w_fmt(w, " (pid %lld)</title>\n<style>\n", (long long)r->pid);
    ms_w_str(w, ms_html_css);
    ms_w_str(w, "</style>\n</head>\n<body>\n<header class=\"top\" id=\"hdr\">"
        "</header>\n<nav class=\"toc\" id=\"toc\"></nav>\n<main>\n<noscript>"
        "<div class=\"banner\">The panels of this report are drawn by its "
        "script, which this browser does not run; the summary below is "
        "complete without it.</div></noscript>\n<div id=\"app\"></div>\n");
}

static void
write_meta(ms_writer_t *w, const ms_report_t *r)
{
    ms_w_str(w, "{\"format\":\"memscope-html\",\"version\":1");
    key(w, "program"); ms_w_jstr(w, r->program);
    key(w, "pid"); ms_w_i64(w, r->pid);
    key(w, "mode"); ms_w_jstr(w, r->mode);
    key(w, "estimated"); ms_w_str(w, r->sample_interval ? "true" : "false");
    key(w, "sample_interval"); ms_w_u64(w, r->sample_interval);
    key(w, "stack_depth"); ms_w_u64(w, r->stack_depth);
    key(w, "trigger"); ms_w_jstr(w, r->trigger);
    key(w, "snapshot"); ms_w_u64(w, r->snapshot);
    key(w, "start_unix_ns"); ms_w_u64(w, r->start_unix_ns);
    key(w, "duration_ns"); ms_w_u64(w, r->duration_ns);
    key(w, "byte_basis"); ms_w_jstr(w, r->byte_basis);
    key(w, "summary");
    ms_w_fmt(w, "{\"allocs\":%llu,\"frees\":%llu,\"reallocs\":%llu,"
        "\"bytes_allocated\":%llu,\"bytes_freed\":%llu",
        (unsigned long long)r->allocs, (unsigned long long)r->frees,
        (unsigned long long)r->reallocs,
        (unsigned long long)r->bytes_allocated,
        (unsigned long long)r->bytes_freed);
    key(w, "alloc_kinds");
    ms_w_jcounts(w, r->alloc_kinds, MS_REPORT_ALLOC_KINDS,
        ms_report_alloc_kind_name);
    key(w, "free_kinds");
    ms_w_jcounts(w, r->free_kinds, MS_REPORT_FREE_KINDS,
        ms_report_free_kind_name);
    ms_w_fmt(w, ",\"live_blocks\":%lld,\"live_bytes\":%lld,"
        "\"peak_live_bytes\":%lld,\"dropped_events\":%llu,"
        "\"untracked_frees\":%llu,\"dropped_tasks\":%llu",
        (long long)r->live_blocks, (long long)r->live_bytes,
        (long long)r->peak_live_bytes, (unsigned long long)r->dropped_events,
        (unsigned long long)r->untracked_frees,
        (unsigned long long)r->dropped_tasks);
    ms_w_fmt(w, ",\"tracer_overhead_bytes\":%llu,\"table_bytes\":%llu,"
        "\"tracked_blocks\":%llu,\"stacks\":%llu",
        (unsigned long long)r->tracer_overhead_bytes,
        (unsigned long long)r->table_bytes,
        (unsigned long long)r->tracked_blocks, (unsigned long long)r->stacks);
    uint64_t lb[MS_LEAK_CLASSES], ly[MS_LEAK_CLASSES];
    ms_report_leak_shown(r, lb, ly);
    key(w, "leak_classes");
    ms_w_jclasses(w, r->leak_checked, lb, ly, MS_LEAK_CLASSES, NULL);
    /* null, or [file, sites, blocks, bytes, [[pattern, sites, blocks,
     * bytes]...]] */
    key(w, "suppressed");
    if (r->supp_file == NULL) {
        ms_w_str(w, "null");
    } else {
        ms_w_str(w, "[");
        ms_w_jstr(w, r->supp_file);
        ms_w_fmt(w, ",%llu,%llu,%llu,[", (unsigned long long)r->supp_sites,
            (unsigned long long)r->supp_blocks,
            (unsigned long long)r->supp_bytes);
        for (uint64_t k = 0; k < r->nsupps; k++) {
            ms_w_str(w, k ? ",[" : "[");
            ms_w_jstr(w, r->supps[k].pattern);
            ms_w_fmt(w, ",%llu,%llu,%llu]", (unsigned long long)r->supps[k].sites,
                (unsigned long long)r->supps[k].blocks,
                (unsigned long long)r->supps[k].bytes);
        }
        ms_w_str(w, "]]");
    }
    key(w, "rss"); num_or_null(w, r->rss);
    key(w, "peak_rss"); num_or_null(w, r->peak_rss);
    ms_w_str(w, "},\"je\":{\"allocated\":");
    num_or_null(w, r->je_allocated);
    key(w, "active"); num_or_null(w, r->je_active);
    key(w, "resident"); num_or_null(w, r->je_resident);
    key(w, "mapped"); num_or_null(w, r->je_mapped);
    key(w, "retained"); num_or_null(w, r->je_retained);
    ms_w_str(w, "}");
}

/* Module paths repeat across frames: the first MAX_MODULES distinct ones
 * are written once and named by index, any more inline. */
#define MAX_MODULES 256

typedef struct {
    const char *name[MAX_MODULES];
    int n, last;
} modules_t;

static int
module_index(modules_t *m, const char *s)
{
    if (m->last >= 0 && strcmp(m->name[m->last], s) == 0)
        return m->last;
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->name[i], s) == 0)
            return m->last = i;
    return -1;
}

static void
write_frames(ms_writer_t *w, const ms_report_t *r)
{
    modules_t m = { .n = 0, .last = -1 };
    for (uint64_t i = 0; i < r->nframes; i++) {
        const char *s = r->frames[i].module;
        if (s != NULL && module_index(&m, s) < 0 && m.n < MAX_MODULES)
            m.name[m.n++] = s;
    }
    key(w, "modules");
    ms_w_str(w, "[");
    for (int i = 0; i < m.n; i++) {
        if (i)
            ms_w_str(w, ",");
        ms_w_jstr(w, m.name[i]);
    }
    ms_w_str(w, "]");
    key(w, "frames");
    ms_w_str(w, "[");
    for (uint64_t i = 0; i < r->nframes; i++) {
        const ms_rframe_t *f = &r->frames[i];
        char label[1024];
        ms_w_str(w, i ? ",[" : "[");
        ms_w_jstr(w, ms_frame_label(f, label, sizeof(label)));
        ms_w_str(w, ",");
        ms_w_jstr(w, f->file);
        ms_w_fmt(w, ",%lld,", (long long)(f->line > 0 ? f->line : 0));
        int mi = f->module ? module_index(&m, f->module) : -1;
        if (mi >= 0)
            ms_w_fmt(w, "%d", mi);
        else
            ms_w_jstr(w, f->module);
        ms_w_fmt(w, ",\"0x%llx\"]", (unsigned long long)f->addr);
    }
    ms_w_str(w, "]");
}

static void
write_index_list(ms_writer_t *w, const uint64_t *v, uint64_t n)
{
    ms_w_u64_list(w, v, n, UINT64_MAX);
}

static void
write_sites(ms_writer_t *w, const ms_report_t *r)
{
    int sampled = r->sample_interval != 0;
    key(w, "sites");
    ms_w_str(w, "[");
    for (uint64_t i = 0; i < r->nsites; i++) {
        const ms_rsite_t *s = &r->sites[i];
        uint64_t v[7] = { s->allocs, s->bytes, s->frees, s->freed_bytes,
            s->live_blocks, s->live_bytes, s->temporaries };
        if (sampled) {
            v[0] = ms_report_est(s->est_allocs);
            v[1] = ms_report_est(s->est_bytes);
            v[4] = ms_report_est(s->est_live_blocks);
            v[5] = ms_report_est(s->est_live_bytes);
            v[2] = v[0] > v[4] ? v[0] - v[4] : 0;
            v[3] = v[1] > v[5] ? v[1] - v[5] : 0;
        }
        /* [id, the 7 figures, first frame, frames, lifetimes, ...] */
        uint64_t head[9] = { s->id, v[0], v[1], v[2], v[3], v[4], v[5], v[6],
            ms_report_first_frame(r, s) };
        ms_w_str(w, i ? ",[" : "[");
        ms_w_u64_seq(w, head, 9, UINT64_MAX);
        ms_w_str(w, ",");
        write_index_list(w, s->frames, s->depth);
        ms_w_str(w, ",");
        int last = MS_REPORT_LIFE_BUCKETS - 1;
        while (last >= 0 && s->life[last] == 0)
            last--;
        ms_w_u64_list(w, s->life, (uint64_t)(last + 1), UINT64_MAX);
        ms_w_str(w, ",");
        ms_w_jclasses(w, r->leak_checked, s->leak_blocks, s->leak_bytes,
            MS_LEAK_CLASSES, NULL);
        ms_w_str(w, s->suppressed ? ",1]" : ",0]");
    }
    ms_w_str(w, "]");
}

static void
write_threads_tasks(ms_writer_t *w, const ms_report_t *r)
{
    key(w, "threads");
    ms_w_str(w, "[");
    for (uint64_t i = 0; i < r->nthreads; i++) {
        const ms_rthread_t *t = &r->threads[i];
        ms_w_fmt(w, "%s[%llu,%lld,", i ? "," : "", (unsigned long long)t->id,
            (long long)t->tid);
        ms_w_jstr(w, t->name);
        ms_w_fmt(w, ",%d,%llu,%llu,%llu,%llu,%llu,%lld]", t->exited ? 1 : 0,
            (unsigned long long)t->allocs, (unsigned long long)t->frees,
            (unsigned long long)t->reallocs,
            (unsigned long long)t->bytes_allocated,
            (unsigned long long)t->bytes_freed, (long long)t->live_bytes);
    }
    ms_w_str(w, "]");
    key(w, "tasks");
    ms_w_str(w, "[");
    for (uint64_t i = 0; i < r->ntasks; i++) {
        const ms_rtask_t *t = &r->tasks[i];
        ms_w_fmt(w, "%s[%llu,%llu,", i ? "," : "", (unsigned long long)t->id,
            (unsigned long long)t->parent);
        ms_w_jstr(w, t->name);
        ms_w_fmt(w, ",%d,%llu,%llu,", t->ended ? 1 : 0,
            (unsigned long long)t->threads_seen,
            (unsigned long long)t->begin_ns);
        if (t->ended)
            ms_w_u64(w, t->end_ns);
        else
            ms_w_str(w, "null");
        ms_w_fmt(w, ",%llu,%llu,%llu,%llu,%lld,%lld]",
            (unsigned long long)t->allocs, (unsigned long long)t->frees,
            (unsigned long long)t->bytes, (unsigned long long)t->freed_bytes,
            (long long)t->live_bytes, (long long)t->peak_live_bytes);
    }
    ms_w_str(w, "]");
}

static void
write_heap_errors(ms_writer_t *w, const ms_report_t *r)
{
    key(w, "heap_errors");
    ms_w_str(w, "[");
    for (uint64_t i = 0; i < r->nheap_errors; i++) {
        const ms_rherr_t *e = &r->heap_errors[i];
        ms_w_str(w, i ? ",[" : "[");
        ms_w_jstr(w, e->kind);
        ms_w_fmt(w, ",\"0x%llx\",", (unsigned long long)e->address);
        if (e->block)
            ms_w_fmt(w, "\"0x%llx\"", (unsigned long long)e->block);
        else
            ms_w_str(w, "null");
        ms_w_fmt(w, ",%llu,", (unsigned long long)e->size);
        ms_w_jstr(w, e->alloc_kind);
        ms_w_str(w, ",");
        ms_w_jstr(w, e->free_kind);
        ms_w_fmt(w, ",%llu,%llu,%llu,", (unsigned long long)e->thread,
            (unsigned long long)e->t_ns, (unsigned long long)
            ms_report_first_of(r, e->free_frames, e->nfree_frames));
        write_index_list(w, e->free_frames, e->nfree_frames);
        ms_w_fmt(w, ",%llu,", (unsigned long long)
            ms_report_first_of(r, e->alloc_frames, e->nalloc_frames));
        write_index_list(w, e->alloc_frames, e->nalloc_frames);
        ms_w_str(w, "]");
    }
    ms_w_str(w, "]");
    key(w, "dropped_heap_errors");
    ms_w_u64(w, r->dropped_heap_errors);
}

static void
write_var(ms_writer_t *w, const ms_rvar_t *v)
{
    ms_w_fmt(w, "[%llu,", (unsigned long long)v->id);
    ms_w_jstr(w, v->name);
    ms_w_str(w, ",");
    ms_w_jstr(w, v->type);
    ms_w_str(w, ",");
    ms_w_jstr(w, v->status);
    if (v->address)
        ms_w_fmt(w, ",\"0x%llx\"", (unsigned long long)v->address);
    else
        ms_w_str(w, ",null");
    ms_w_fmt(w, ",%llu,%llu,%llu,", (unsigned long long)v->size,
        (unsigned long long)v->elem_size, (unsigned long long)v->count);
    ms_w_jstr(w, v->value);
    ms_w_str(w, ",");
    ms_w_jstr(w, v->file);
    ms_w_fmt(w, ",%lld,", (long long)v->line);
    ms_w_jstr(w, v->func);
    ms_w_fmt(w, ",%llu,%llu,%llu,%llu,", (unsigned long long)v->thread,
        (unsigned long long)v->task, (unsigned long long)v->site,
        (unsigned long long)v->created_ns);
    if (v->freed_ns)
        ms_w_u64(w, v->freed_ns);
    else
        ms_w_str(w, "null");
    ms_w_fmt(w, ",%d,[", v->owned ? 1 : 0);
    for (uint64_t k = 0; k < v->nowners; k++) {
        ms_w_str(w, k ? ",[" : "[");
        ms_w_jstr(w, v->owners[k].owner);
        ms_w_fmt(w, ",%llu]", (unsigned long long)v->owners[k].t_ns);
    }
    ms_w_fmt(w, "],%llu]", (unsigned long long)v->dropped_owners);
}

static void
var_item(ms_writer_t *w, uint64_t i, const void *r)
{
    write_var(w, &((const ms_report_t *)r)->vars[i]);
}

static void
write_series(ms_writer_t *w, const ms_report_t *r)
{
    key(w, "vars");
    ms_w_jarray(w, r->nvars, var_item, r);
    key(w, "timeline");
    ms_w_fmt(w, "{\"interval_ns\":%llu,\"points\":[",
        (unsigned long long)r->timeline_interval_ns);
    for (uint64_t i = 0; i < r->ntimeline; i++) {
        const ms_rpoint_t *p = &r->timeline[i];
        int64_t v[] = { p->heap_live, p->rss, p->je_resident,
            p->je_allocated, p->je_active };
        ms_w_str(w, i ? ",[" : "[");
        ms_w_u64(w, p->t_ns);
        for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
            ms_w_str(w, ",");
            num_or_null(w, v[k]);
        }
        ms_w_str(w, "]");
    }
    ms_w_str(w, "]}");
    key(w, "size_hist");
    ms_w_str(w, "[");
    for (int b = 0; b < MS_REPORT_SIZE_BUCKETS; b++)
        ms_w_fmt(w, "%s[%llu,%llu,%llu]", b ? "," : "",
            (unsigned long long)ms_report_size_lower(b),
            (unsigned long long)ms_report_size_upper(b),
            (unsigned long long)r->size_hist[b]);
    ms_w_str(w, "]");
    key(w, "life_hist");
    ms_w_str(w, "[");
    for (int b = 0; b < MS_REPORT_LIFE_BUCKETS; b++) {
        ms_w_fmt(w, "%s[%llu,", b ? "," : "",
            (unsigned long long)ms_report_life_lower_ms(b));
        if (b == MS_REPORT_LIFE_BUCKETS - 1)
            ms_w_str(w, "null");
        else
            ms_w_u64(w, ms_report_life_upper_ms(b));
        ms_w_fmt(w, ",%llu]", (unsigned long long)r->life_hist[b]);
    }
    ms_w_str(w, "]");
}

/* ---- the markdown summary, rendered ---------------------------------------- */

/* cmark's parser and HTML renderer: linked in the tool; in the library
 * opened once, at the first report, and kept. */
typedef struct {
    cmark_parser *(*parser_new)(int, cmark_mem *);
    void (*feed)(cmark_parser *, const char *, size_t);
    cmark_node *(*finish)(cmark_parser *);
    void (*parser_free)(cmark_parser *);
    char *(*render)(cmark_node *, int);
    void (*node_free)(cmark_node *);
} cmark_api_t;

static const cmark_api_t *
cmark_api(void)
{
#ifdef MS_IN_LIBRARY
    static int tried, ok;
    static cmark_api_t api;
    if (!tried) {
        tried = 1;
        void *h = dlopen("libcmark.so.0.30.2", RTLD_NOW | RTLD_LOCAL);
        if (h == NULL)
            return NULL;
        *(void **)&api.parser_new = dlsym(h, "cmark_parser_new_with_mem");
        *(void **)&api.feed = dlsym(h, "cmark_parser_feed");
        *(void **)&api.finish = dlsym(h, "cmark_parser_finish");
        *(void **)&api.parser_free = dlsym(h, "cmark_parser_free");
        *(void **)&api.render = dlsym(h, "cmark_render_html");
        *(void **)&api.node_free = dlsym(h, "cmark_node_free");
        ok = api.parser_new && api.feed && api.finish && api.parser_free &&
            api.render && api.node_free;
    }
    return ok ? &api : NULL;
#else
    static const cmark_api_t api = { cmark_parser_new_with_mem,
        cmark_parser_feed, cmark_parser_finish, cmark_parser_free,
        cmark_render_html, cmark_node_free };
    return &api;
#endif
}

/* cmark allocates through these: the tracer's own memory in the library,
 * never the program's heap. Like cmark's own allocator, they never return
 * NULL for a non-zero size: cmark does not check. */
static void *
cm_calloc(size_t n, size_t size)
{
    void *p = size && n > SIZE_MAX / size ? NULL : ms_xcalloc(n * size);
    if (p == NULL)
        abort();
    return p;
}

static void *
cm_realloc(void *p, size_t n)
{
    void *q = ms_xrealloc(p, n);
    if (q == NULL)
        abort();
    return q;
}

static void
cm_free(void *p)
{
    ms_xfree(p);
}

/* md rendered to HTML in memory from ms_xmalloc, or NULL. cmark escapes
 * text, and without CMARK_OPT_UNSAFE leaves raw HTML out. */
static char *
md_to_html(const char *md, size_t len)
{
    static cmark_mem mem = { cm_calloc, cm_realloc, cm_free };
    const cmark_api_t *cm = cmark_api();
    if (cm == NULL)
        return NULL;
    int opts = CMARK_OPT_DEFAULT | CMARK_OPT_VALIDATE_UTF8;
    cmark_parser *p = cm->parser_new(opts, &mem);
    cm->feed(p, md, len);
    cmark_node *doc = cm->finish(p);
    cm->parser_free(p);
    if (doc == NULL)
        return NULL;
    char *html = cm->render(doc, opts);     /* from the document's mem */
    cm->node_free(doc);
    return html;
}

static void
write_summary(ms_writer_t *w, const char *md, size_t len)
{
    char *html = md != NULL ? md_to_html(md, len) : NULL;
    ms_w_str(w, "<section class=\"panel\" id=\"summary\"><h2>Summary</h2>"
        "<p class=\"note\">The markdown report, rendered: the same text "
        "as the .md file.</p>\n<div class=\"md\">\n");
    if (html != NULL) {
        ms_w_str(w, html);
    } else if (md != NULL) {
        ms_w_str(w, "<pre>");
        ms_w_html(w, md);
        ms_w_str(w, "</pre>");
    } else {
        ms_w_str(w, "<p>Not available: out of memory.</p>");
    }
    ms_xfree(html);
    ms_w_str(w, "</div></section>\n");
}

void
ms_html_write(ms_writer_t *w, const ms_report_t *r)
{
    size_t len = 0;
    char *md = ms_md_render(r, &len);
    ms_html_write_md(w, r, md, len);
    ms_xfree(md);
}

void
ms_html_write_md(ms_writer_t *w, const ms_report_t *r, const char *md,
    size_t len)
{
    write_head(w, r);
    write_summary(w, md, len);
    ms_w_str(w, "</main>\n<footer>Written by memscope from what it recorded "
        "and nothing else; a figure it did not record says \"not "
        "measured\".</footer>\n<script type=\"application/json\" "
        "id=\"ms-data\">");
    write_meta(w, r);
    write_frames(w, r);
    write_sites(w, r);
    write_threads_tasks(w, r);
    write_heap_errors(w, r);
    write_series(w, r);
    ms_w_str(w, "}</script>\n<script>");
    ms_w_str(w, ms_html_js);
    ms_w_str(w, "</script>\n</body>\n</html>\n");
}
