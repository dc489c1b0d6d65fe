/*
 * folded.c - folded stacks, the input of flamegraph.pl and speedscope: one
 * line per distinct call stack, "outermost;...;leaf VALUE", where VALUE is
 * the bytes the stack's sites hold live at the time of the report (what the
 * library writes as NAME.folded) or allocated over the run (the tool's
 * --metric allocated). In sampled mode the values are the estimates,
 * rounded to whole bytes. Lines are sorted, identical stacks merged, and
 * stacks of value 0 left out.
 *
 * A frame is its function name; without one, module+0xOFFSET (the
 * module's file name), or the bare address. ';' in a name becomes ':' and
 * control characters become '?', so a name can split neither a frame nor
 * a line.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "export.h"
#include "report.h"
#include "writer.h"
#include "xalloc.h"

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf_t;

typedef struct {
    size_t off;             /* of the stack's text in the sbuf */
    uint64_t value;
} line_t;

static void
sb_put(sbuf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = ms_xrealloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void
sb_name(sbuf_t *b, const char *s)
{
    for (; *s; s++) {
        char c = *s;
        if (c == ';')
            c = ':';
        else if ((unsigned char)c < 0x20 || c == 0x7f)
            c = '?';
        sb_put(b, &c, 1);
    }
}

static void
frame_name(sbuf_t *b, const ms_report_t *r, uint64_t ix)
{
    char num[40];
    if (ix >= r->nframes) {
        sb_put(b, "[unknown]", 9);
        return;
    }
    const ms_rframe_t *f = &r->frames[ix];
    if (f->func != NULL && f->func[0] != '\0') {
        sb_name(b, f->func);
    } else if (f->module != NULL && f->module[0] != '\0') {
        const char *base = strrchr(f->module, '/');
        sb_name(b, base != NULL && base[1] != '\0' ? base + 1 : f->module);
        int n = snprintf(num, sizeof(num), "+0x%llx",
            (unsigned long long)f->offset);
        sb_put(b, num, (size_t)n);
    } else {
        int n = snprintf(num, sizeof(num), "0x%llx",
            (unsigned long long)f->addr);
        sb_put(b, num, (size_t)n);
    }
}

/* An estimate as whole bytes: 0 for anything not positive (NaN too). */
static uint64_t
whole(double d)
{
    if (!(d > 0))
        return 0;
    if (d >= 18446744073709549568.0)
        return UINT64_MAX;
    return (uint64_t)(d + 0.5);
}

static uint64_t
site_value(const ms_report_t *r, const ms_rsite_t *s, int allocated)
{
    if (r->sample_interval != 0)
        return whole(allocated ? s->est_bytes : s->est_live_bytes);
    return allocated ? s->bytes : s->live_bytes;
}

/* Heapsort by stack text: in place, so the library allocates nothing
 * outside its own arena (qsort may call malloc). */
static int
before(const char *text, const line_t *a, const line_t *b)
{
    return strcmp(text + a->off, text + b->off) < 0;
}

static void
sift(const char *text, line_t *l, uint64_t i, uint64_t n)
{
    for (;;) {
        uint64_t big = i, c = 2 * i + 1;
        if (c < n && before(text, &l[big], &l[c]))
            big = c;
        if (c + 1 < n && before(text, &l[big], &l[c + 1]))
            big = c + 1;
        if (big == i)
            return;
        line_t t = l[i];
        l[i] = l[big];
        l[big] = t;
        i = big;
    }
}

static void
sort_lines(const char *text, line_t *l, uint64_t n)
{
    for (uint64_t i = n / 2; i-- > 0; )
        sift(text, l, i, n);
    for (uint64_t end = n; end-- > 1; ) {
        line_t t = l[0];
        l[0] = l[end];
        l[end] = t;
        sift(text, l, 0, end);
    }
}

static void
emit(ms_writer_t *w, const char *text, line_t *lines, uint64_t n)
{
    for (uint64_t i = 0; i < n; ) {
        uint64_t v = lines[i].value, j = i + 1;
        for (; j < n && strcmp(text + lines[j].off, text + lines[i].off) == 0;
             j++)
            v = v + lines[j].value < v ? UINT64_MAX : v + lines[j].value;
        ms_w_str(w, text + lines[i].off);
        ms_w_str(w, " ");
        ms_w_u64(w, v);
        ms_w_str(w, "\n");
        i = j;
    }
}

static void
write_metric(ms_writer_t *w, const ms_report_t *r, int allocated)
{
    sbuf_t b = { 0 };
    line_t *lines = ms_xmalloc((size_t)(r->nsites ? r->nsites : 1) *
        sizeof(*lines));
    uint64_t n = 0;
    for (uint64_t i = 0; lines != NULL && i < r->nsites && !b.oom; i++) {
        const ms_rsite_t *s = &r->sites[i];
        uint64_t v = site_value(r, s, allocated);
        if (v == 0)
            continue;
        lines[n].off = b.len;
        lines[n].value = v;
        n++;
        if (s->depth == 0)
            sb_put(&b, "[no stack]", 10);
        for (uint64_t k = s->depth; k-- > 0; ) {
            frame_name(&b, r, s->frames[k]);
            if (k > 0)
                sb_put(&b, ";", 1);
        }
        sb_put(&b, "", 1);      /* the NUL that ends the stack */
    }
    if (lines == NULL || b.oom) {
        if (w->err == 0)
            w->err = ENOMEM;    /* no file rather than a partial one */
    } else {
        sort_lines(b.p, lines, n);
        emit(w, b.p, lines, n);
    }
    ms_xfree(lines);
    ms_xfree(b.p);
}

void
ms_folded_write(ms_writer_t *w, const ms_report_t *r)
{
    write_metric(w, r, 0);
}

/* Weighted by the bytes each stack allocated over the run. */
void
ms_folded_write_allocated(ms_writer_t *w, const ms_report_t *r)
{
    write_metric(w, r, 1);
}
