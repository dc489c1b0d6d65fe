/*
 * report.c - the render layer: the figures derived from a report that
 * every exporter and `memscope diff` show (estimates rounded, bucket
 * bounds, the frame a site is named by), and freeing a report; shared by
 * the library and the memscope tool. Escaping is the writers' (writer.c
 * for JSON and HTML, md_out.c for markdown).
 */
#include <stdio.h>
#include <string.h>

#include "report.h"
#include "xalloc.h"

const char *
ms_frame_label(const ms_rframe_t *f, char *buf, size_t len)
{
    if (f->func != NULL && f->func[0] != '\0') {
        if (!(f->flags & MS_RFRAME_INLINED))
            return f->func;
        snprintf(buf, len, "%s [inlined]", f->func);
        return buf;
    }
    if (f->module == NULL || f->module[0] == '\0')
        return "[unknown]";
    const char *base = strrchr(f->module, '/');
    base = base != NULL && base[1] != '\0' ? base + 1 : f->module;
    snprintf(buf, len, "%s+0x%llx", base, (unsigned long long)f->offset);
    return buf;
}

uint64_t
ms_report_est(double v)
{
    if (!(v > 0))
        return 0;
    if (v >= 18446744073709549568.0)    /* the largest double below 2^64 */
        return UINT64_MAX;
    return (uint64_t)(v + 0.5);
}

int64_t
ms_report_est_signed(double v)
{
    if (!(v == v))
        return 0;
    if (v >= 9.2e18)
        return INT64_MAX;
    if (v <= -9.2e18)
        return INT64_MIN;
    return (int64_t)(v < 0 ? v - 0.5 : v + 0.5);
}

uint64_t
ms_report_size_lower(int b)
{
    return b == 0 ? 0 : 1ull << (b - 1);
}

uint64_t
ms_report_size_upper(int b)
{
    return b == 0 ? 0 : (1ull << b) - 1;
}

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
    /* a first look that most names fail (a report asks it of every frame
     * of every site): each name above starts so */
    switch (f[0]) {
    case '_':
        if (f[1] != '_' && f[1] != 'Z')
            return 0;
        break;
    case 'a': case 'c': case 'f': case 'm': case 'o': case 'p': case 'r':
    case 's': case 'v':
        break;
    default:
        return 0;
    }
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
        if (strcmp(f, exact[i]) == 0)
            return 1;
    for (size_t i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++)
        if (strncmp(f, prefix[i], strlen(prefix[i])) == 0)
            return 1;
    return 0;
}

uint64_t
ms_report_first_of(const ms_report_t *r, const uint64_t *frames, uint64_t n)
{
    for (uint64_t k = 0; k < n; k++) {
        const ms_rframe_t *f = frames[k] < r->nframes ? &r->frames[frames[k]] : NULL;
        if (f != NULL && f->func != NULL && !alloc_wrapper(f->func))
            return k;
    }
    return 0;
}

uint64_t
ms_report_first_frame(const ms_report_t *r, const ms_rsite_t *s)
{
    return ms_report_first_of(r, s->frames, s->depth);
}

uint64_t
ms_report_life_lower_ms(int b)
{
    return b == 0 ? 0 : 1ull << (b - 1);
}

uint64_t
ms_report_life_upper_ms(int b)
{
    return b >= MS_REPORT_LIFE_BUCKETS - 1 ? UINT64_MAX : 1ull << b;
}

const char *
ms_report_alloc_kind_name(unsigned k)
{
    static const char *names[MS_REPORT_ALLOC_KINDS] = { "malloc", "calloc",
        "realloc", "aligned", "new", "new[]", "mallocx", "rallocx",
        "xallocx" };
    return k < MS_REPORT_ALLOC_KINDS ? names[k] : NULL;
}

const char *
ms_report_free_kind_name(unsigned k)
{
    static const char *names[MS_REPORT_FREE_KINDS] = { "free", "delete",
        "delete[]", "realloc", "dallocx", "sdallocx", "rallocx", "xallocx" };
    return k < MS_REPORT_FREE_KINDS ? names[k] : NULL;
}

const char *
ms_report_leak_class_name(unsigned c)
{
    static const char *names[MS_LEAK_CLASSES] = { "definitely_lost",
        "indirectly_lost", "possibly_lost", "still_reachable" };
    return c < MS_LEAK_CLASSES ? names[c] : NULL;
}

unsigned
ms_report_site_class(const ms_report_t *r, const ms_rsite_t *s)
{
    for (unsigned c = 0; r->leak_checked && c < MS_LEAK_CLASSES; c++)
        if (s->leak_blocks[c] > 0)
            return c;
    return MS_LEAK_CLASSES;
}

uint64_t
ms_report_site_lost_bytes(const ms_rsite_t *s)
{
    if (s->suppressed)
        return 0;
    return s->leak_bytes[MS_LEAK_DEFINITE] + s->leak_bytes[MS_LEAK_INDIRECT] +
        s->leak_bytes[MS_LEAK_POSSIBLE];
}

double
ms_report_site_rank(const ms_report_t *r, const ms_rsite_t *s, ms_rank_t by)
{
    int sampled = r->sample_interval != 0;
    double live = sampled ? s->est_live_bytes : (double)s->live_bytes;
    switch (by) {
    case MS_RANK_LIVE:
        return live;
    case MS_RANK_ALLOCATED:
        return sampled ? s->est_bytes : (double)s->bytes;
    case MS_RANK_CALLS:
        return sampled ? s->est_allocs : (double)s->allocs;
    case MS_RANK_LEAK: {
        /* a class outweighs any byte count: 2^50 is beyond any heap; a
         * suppressed site is in no leak list */
        if (s->suppressed)
            return 0;
        unsigned c = ms_report_site_class(r, s);
        return live > 0 && c < MS_LEAK_CLASSES ?
            live + (double)(MS_LEAK_CLASSES - c) * 0x1p50 : live;
    }
    case MS_RANK_TEMPORARIES:
        return (double)s->temporaries;
    }
    return 0;
}

int
ms_report_top_sites(const ms_report_t *r, ms_rank_t by, uint64_t *idx, int k)
{
    int n = 0;
    for (uint64_t i = 0; k > 0 && i < r->nsites; i++) {
        double v = ms_report_site_rank(r, &r->sites[i], by);
        if (!(v > 0))
            continue;
        int j = n < k ? n++ : k;
        if (j == k && v <= ms_report_site_rank(r, &r->sites[idx[k - 1]], by))
            continue;
        if (j == k)
            j = k - 1;
        while (j > 0 && ms_report_site_rank(r, &r->sites[idx[j - 1]], by) < v) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
    return n;
}

void
ms_report_site_figs(const ms_report_t *r, const ms_rsite_t *s,
    ms_site_figs_t *f)
{
    f->estimated = r->sample_interval != 0;
    f->allocs = f->estimated ? ms_report_est(s->est_allocs) : s->allocs;
    f->bytes = f->estimated ? ms_report_est(s->est_bytes) : s->bytes;
    f->live_blocks = f->estimated ? ms_report_est(s->est_live_blocks) :
        s->live_blocks;
    f->live_bytes = f->estimated ? ms_report_est(s->est_live_bytes) :
        s->live_bytes;
}

int
ms_report_at_exit(const ms_report_t *r)
{
    return r->trigger != NULL && strcmp(r->trigger, "exit") == 0;
}

const char *
ms_report_leak_unmeasured(const ms_report_t *r)
{
    if (r->leak_checked)
        return NULL;
    if (r->sample_interval != 0)
        return "sampled mode: the table holds only sampled blocks";
    return ms_report_at_exit(r) ? "MEMSCOPE_LEAK_CHECK=0" :
        "not asked for in this report: memscope snapshot --leaks, "
        "MEMSCOPE_EXPORT_LEAKS";
}

static void
swap_items(unsigned char *x, unsigned char *y, size_t size)
{
    size_t k = 0;
    for (; k + 8 <= size; k += 8) {     /* a word at a time: rows are 88 B */
        uint64_t t;
        memcpy(&t, x + k, 8);
        memcpy(x + k, y + k, 8);
        memcpy(y + k, &t, 8);
    }
    for (; k < size; k++) {
        unsigned char t = x[k];
        x[k] = y[k];
        y[k] = t;
    }
}

static void
sift(unsigned char *a, uint64_t i, uint64_t n, size_t size,
    int (*before)(const void *, const void *, void *), void *ctx)
{
    for (;;) {
        uint64_t big = i, c = 2 * i + 1;
        if (c < n && before(a + big * size, a + c * size, ctx))
            big = c;
        if (c + 1 < n && before(a + big * size, a + (c + 1) * size, ctx))
            big = c + 1;
        if (big == i)
            return;
        swap_items(a + i * size, a + big * size, size);
        i = big;
    }
}

void
ms_report_sort(void *base, uint64_t n, size_t size,
    int (*before)(const void *, const void *, void *), void *ctx)
{
    unsigned char *a = base;
    for (uint64_t i = n / 2; i-- > 0; )
        sift(a, i, n, size, before, ctx);
    for (uint64_t end = n; end-- > 1; ) {
        swap_items(a, a + end * size, size);
        sift(a, 0, end, size, before, ctx);
    }
}

void
ms_report_supp_free(ms_report_t *r)
{
    for (uint64_t i = 0; r->supps != NULL && i < r->nsupps; i++) {
        ms_xfree(r->supps[i].pattern);
        ms_xfree(r->supps[i].glob);
    }
    ms_xfree(r->supps);
    ms_xfree(r->supp_file);
    r->supps = NULL;
    r->nsupps = 0;
    r->supp_file = NULL;
}

void
ms_report_leak_shown(const ms_report_t *r, uint64_t *blocks, uint64_t *bytes)
{
    for (unsigned c = 0; c < MS_LEAK_CLASSES; c++) {
        blocks[c] = r->leak_blocks[c] - (r->supp_leak_blocks[c] <
            r->leak_blocks[c] ? r->supp_leak_blocks[c] : r->leak_blocks[c]);
        bytes[c] = r->leak_bytes[c] - (r->supp_leak_bytes[c] <
            r->leak_bytes[c] ? r->supp_leak_bytes[c] : r->leak_bytes[c]);
    }
}

void
ms_report_free(ms_report_t *r)
{
    if (r == NULL)
        return;
    ms_xfree(r->program);
    ms_xfree(r->mode);
    ms_xfree(r->trigger);
    ms_xfree(r->byte_basis);
    for (uint64_t i = 0; r->frames && i < r->nframes; i++) {
        ms_xfree(r->frames[i].func);
        ms_xfree(r->frames[i].file);
        ms_xfree(r->frames[i].module);
        ms_xfree(r->frames[i].build_id);
    }
    ms_xfree(r->frames);
    for (uint64_t i = 0; r->sites && i < r->nsites; i++)
        ms_xfree(r->sites[i].frames);
    ms_xfree(r->sites);
    ms_xfree(r->rows);
    for (uint64_t i = 0; r->threads && i < r->nthreads; i++)
        ms_xfree(r->threads[i].name);
    ms_xfree(r->threads);
    for (uint64_t i = 0; r->tasks && i < r->ntasks; i++)
        ms_xfree(r->tasks[i].name);
    ms_xfree(r->tasks);
    for (uint64_t i = 0; r->vars && i < r->nvars; i++) {
        ms_rvar_t *v = &r->vars[i];
        ms_xfree(v->name); ms_xfree(v->type); ms_xfree(v->file);
        ms_xfree(v->func); ms_xfree(v->value); ms_xfree(v->status);
        for (uint64_t k = 0; v->owners && k < v->nowners; k++)
            ms_xfree(v->owners[k].owner);
        ms_xfree(v->owners);
    }
    ms_xfree(r->vars);
    ms_xfree(r->timeline);
    for (uint64_t i = 0; r->heap_errors && i < r->nheap_errors; i++) {
        ms_rherr_t *e = &r->heap_errors[i];
        ms_xfree(e->kind);
        ms_xfree(e->alloc_kind);
        ms_xfree(e->free_kind);
        ms_xfree(e->alloc_frames);
        ms_xfree(e->free_frames);
    }
    ms_xfree(r->heap_errors);
    ms_report_supp_free(r);
    ms_xfree(r);
}
