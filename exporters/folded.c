/*
 * folded.c - folded stacks, the input of flamegraph.pl and speedscope: one
 * line per distinct call stack, "outermost;...;leaf VALUE", where VALUE is
 * the bytes the stack's sites hold live at the time of the report (what the
 * library writes as NAME.folded) or allocated over the run (the tool's
 * --metric allocated). In sampled mode the values are the estimates,
 * rounded to whole bytes. Lines are sorted, identical stacks merged, and
 * stacks of value 0 left out.
 *
 * A frame is named by ms_frame_label (report.h): its function, else
 * module+0xOFFSET, never a bare address. ';' in a name becomes ':' and
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
    size_t off;             /* of the stack's text among all stacks' */
    uint64_t value;
} line_t;


static void
sb_name(ms_writer_t *b, const char *s)
{
    for (; *s; s++) {
        char c = *s;
        if (c == ';')
            c = ':';
        else if ((unsigned char)c < 0x20 || c == 0x7f)
            c = '?';
        ms_w_bytes(b, &c, 1);
    }
}

static void
frame_name(ms_writer_t *b, const ms_report_t *r, uint64_t ix)
{
    if (ix >= r->nframes) {
        ms_w_bytes(b, "[unknown]", 9);
        return;
    }
    char label[1024];
    sb_name(b, ms_frame_label(&r->frames[ix], label, sizeof(label)));
}

enum { LIVE, ALLOCATED, LOST };

static uint64_t
site_value(const ms_report_t *r, const ms_rsite_t *s, int allocated)
{
    if (allocated == LOST)
        return r->leak_checked ? ms_report_site_lost_bytes(s) : 0;
    if (r->sample_interval != 0)
        return ms_report_est(allocated ? s->est_bytes : s->est_live_bytes);
    return allocated ? s->bytes : s->live_bytes;
}

/* By stack text (ms_report_sort: in place, so the library allocates
 * nothing outside its own arena). */
static int
before(const void *x, const void *y, void *text)
{
    const line_t *a = x, *b = y;
    return strcmp((const char *)text + a->off, (const char *)text + b->off) < 0;
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

/* The stacks' text collects in memory (NUL after each), then is sorted
 * and written: a sort of offsets, as the text may move while it grows. */
static void
write_metric(ms_writer_t *w, const ms_report_t *r, int allocated)
{
    ms_writer_t *b = ms_xmalloc(sizeof(*b));
    line_t *lines = ms_xmalloc((size_t)(r->nsites ? r->nsites : 1) *
        sizeof(*lines));
    uint64_t n = 0;
    if (b != NULL)
        ms_writer_open_mem(b);
    for (uint64_t i = 0; b != NULL && lines != NULL && i < r->nsites; i++) {
        const ms_rsite_t *s = &r->sites[i];
        uint64_t v = site_value(r, s, allocated);
        if (v == 0)
            continue;
        lines[n].off = (size_t)b->written;
        lines[n].value = v;
        n++;
        if (s->depth == 0)
            ms_w_bytes(b, "[no stack]", 10);
        for (uint64_t k = s->depth; k-- > 0; ) {
            frame_name(b, r, s->frames[k]);
            if (k > 0)
                ms_w_bytes(b, ";", 1);
        }
        ms_w_bytes(b, "", 1);       /* the NUL that ends the stack */
    }
    size_t len = 0;
    char *text = b != NULL ? ms_writer_take(b, &len) : NULL;
    if (lines == NULL || text == NULL) {
        if (w->err == 0)
            w->err = ENOMEM;    /* no file rather than a partial one */
    } else {
        ms_report_sort(lines, n, sizeof(*lines), before, text);
        emit(w, text, lines, n);
    }
    ms_xfree(text);
    ms_xfree(lines);
    ms_xfree(b);
}

void
ms_folded_write(ms_writer_t *w, const ms_report_t *r)
{
    write_metric(w, r, LIVE);
}

/* Weighted by the bytes each stack allocated over the run. */
void
ms_folded_write_allocated(ms_writer_t *w, const ms_report_t *r)
{
    write_metric(w, r, ALLOCATED);
}

/* Weighted by the bytes each stack's lost blocks hold (leak classes). */
void
ms_folded_write_lost(ms_writer_t *w, const ms_report_t *r)
{
    write_metric(w, r, LOST);
}
