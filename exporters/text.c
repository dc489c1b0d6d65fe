/*
 * text.c - the report for a terminal (docs/text.md): heaptrack_print's
 * sections (most calls to allocation functions, peak consumers, leaks,
 * temporaries, heap errors), each site with its stack, in a given width.
 *
 * No line is wider than the width: names from the traced program are cut
 * to fit ("..."), C++ names first lose their parameter list and template
 * arguments; our own sentences are wrapped at spaces. A column is one
 * code point; code points from U+1100 up count two, so wide characters
 * never overflow. Control characters and bytes that are not UTF-8 show as
 * '?': a name cannot move the cursor or change the terminal's state.
 *
 * Every figure comes from the report through the render layer
 * (report.c); what the report does not hold says "not measured". The
 * library writes it too (MEMSCOPE_FORMATS=text, NAME.txt, 80 columns), so
 * nothing here allocates: lines are built in stack buffers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "export.h"
#include "report.h"
#include "text.h"
#include "writer.h"

#define TOP_SITES       10
#define TOP_ERRORS      10
#define STACK_LINES     8
#define WIDTH_MIN       40
#define WIDTH_MAX       1000
#define FUNC_ROOM_MIN   20      /* below this a frame's location is dropped */


/* ---- columns ---------------------------------------------------------------- */

/* Between a figure and its unit: a space that para() does not break at. */
#define NBSP "\x1f"

/* The next character of s: its bytes (*n) and columns; *safe says whether
 * it may be written as it is (1), as a space (2: NBSP) or as a '?' (0). */
static int
char_at(const char *s, size_t *n, int *safe)
{
    uint32_t cp;
    unsigned char c = (unsigned char)*s;
    if (c < 0x80) {
        *n = 1;
        *safe = c == 0x1f ? 2 : c >= 0x20 && c != 0x7f;
        return 1;
    }
    *n = ms_utf8_decode((const unsigned char *)s, &cp);
    if (*n == 0 || cp < 0xa0) {     /* not UTF-8, or a C1 control */
        *n = *n ? *n : 1;
        *safe = 0;
        return 1;
    }
    *safe = 1;
    return cp >= 0x1100 ? 2 : 1;
}

static int
text_cols(const char *s)
{
    int cols = 0;
    size_t n;
    int safe;
    for (; *s; s += n)
        cols += char_at(s, &n, &safe);
    return cols;
}

static void
nl(ms_text_t *t)
{
    ms_w_str(t->w, "\n");
    t->col = 0;
}

/* Writes s on the current line, at most max columns of it (and never past
 * the width): cut with "..." when it does not fit. */
static void
put_max(ms_text_t *t, const char *s, int max)
{
    int room = t->width - t->col;
    if (max < room)
        room = max;
    if (room <= 0)
        return;
    int fits = text_cols(s) <= room, keep = fits ? room : room - 3;
    size_t n;
    int safe;
    while (*s) {
        int c = char_at(s, &n, &safe);
        if (c > keep)
            break;
        if (safe == 1)
            ms_w_bytes(t->w, s, n);
        else
            ms_w_str(t->w, safe == 2 ? " " : "?");
        keep -= c;
        room -= c;
        t->col += c;
        s += n;
    }
    if (!fits)
        for (; room > 0 && room > keep; room--, t->col++)
            ms_w_str(t->w, ".");
}

static void
put(ms_text_t *t, const char *s)
{
    put_max(t, s, t->width);
}

void
ms_text_putf(ms_text_t *t, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    put(t, buf);
}

/* Our own sentence, wrapped at spaces, each line after the first indented
 * by indent columns; ends the line. */
static void
para(ms_text_t *t, int indent, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
para(ms_text_t *t, int indent, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    int first = 1;
    for (const char *p = buf; *p; first = 0) {
        int space = !first || *p == ' ';
        while (*p == ' ')
            p++;
        size_t word = strcspn(p, " ");
        if (word == 0)
            break;
        char w[1024];
        snprintf(w, sizeof(w), "%.*s", (int)(word < sizeof(w) ? word :
            sizeof(w) - 1), p);
        int wc = text_cols(w);
        if (t->col > indent && t->col + space + wc > t->width) {
            nl(t);
            for (int i = 0; i < indent; i++)
                put(t, " ");
        } else if (space && t->col > 0) {
            put(t, " ");
        }
        put(t, w);
        p += word;
    }
    nl(t);
}

/* ---- figures ---------------------------------------------------------------- */

/* Bytes: "N B" below 10 KiB, else "x.y KiB" and up. */
static const char *
bytes(char *buf, size_t len, uint64_t v)
{
    static const char *units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    if (v < 10240) {
        snprintf(buf, len, "%llu" NBSP "B", (unsigned long long)v);
        return buf;
    }
    double d = (double)v;
    int u = -1;
    while (d >= 1024 && u < 5) {
        d /= 1024;
        u++;
    }
    snprintf(buf, len, "%.1f" NBSP "%s", d, units[u]);
    return buf;
}

/* A measured figure in bytes, or "not measured" (-1). */
static const char *
mbytes(char *buf, size_t len, int64_t v)
{
    if (v < 0)
        return "not measured";
    return bytes(buf, len, (uint64_t)v);
}

static const char *
duration(char *buf, size_t len, uint64_t ns)
{
    if (ns < 1000000000)
        snprintf(buf, len, "%.3f" NBSP "ms", (double)ns / 1e6);
    else
        snprintf(buf, len, "%.3f" NBSP "s", (double)ns / 1e9);
    return buf;
}

static const char *
plural(uint64_t n)
{
    return n == 1 ? "" : "s";
}

/* ---- frames ------------------------------------------------------------------ */

/* Where s's top-level parenthesis or angle bracket that ends at end-1
 * opens: scans back over nested pairs; -1 when unbalanced. */
static long
opening(const char *s, long end, char open, char close)
{
    int depth = 0;
    for (long i = end - 1; i >= 0; i--) {
        if (s[i] == close)
            depth++;
        else if (s[i] == open && --depth == 0)
            return i;
    }
    return -1;
}

/* A C++ name shortened to fit room columns, into out: the parameter list
 * becomes "(...)", then each template argument list "<...>"; put_max cuts
 * what still does not fit. */
static const char *
abbreviate(const char *name, int room, char *out, size_t len)
{
    if (text_cols(name) <= room)
        return name;
    snprintf(out, len, "%s", name);
    long n = (long)strlen(out);
    /* "f(int, char) const": keep " const" after the list */
    long close = n;
    while (close > 0 && out[close - 1] != ')' && out[close - 1] != '>')
        close--;
    if (close > 0 && out[close - 1] == ')') {
        long open = opening(out, close, '(', ')');
        if (open > 0 && close - open > 5) {
            memmove(out + open + 5, out + close, (size_t)(n - close + 1));
            memcpy(out + open, "(...)", 5);
            n = (long)strlen(out);
        }
    }
    if (text_cols(out) <= room)
        return out;
    /* innermost-last: collapse each outermost <...> from the right */
    for (long end = n; end > 0 && text_cols(out) > room; ) {
        while (end > 0 && out[end - 1] != '>')
            end--;
        if (end == 0)
            break;
        long open = opening(out, end, '<', '>');
        if (open < 0)
            break;
        if (end - open > 5) {
            memmove(out + open + 5, out + end, strlen(out + end) + 1);
            memcpy(out + open, "<...>", 5);
        }
        end = open;
    }
    return out;
}

static const char *
base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b != NULL && b[1] != '\0' ? b + 1 : path;
}

void
ms_text_frame(ms_text_t *t, uint64_t fi)
{
    if (fi >= t->r->nframes) {
        put(t, "?");
        return;
    }
    const ms_rframe_t *f = &t->r->frames[fi];
    char loc[600] = "", label[1024], ab[1024];
    if (f->file != NULL && f->file[0] != '\0') {
        if (f->line > 0)
            snprintf(loc, sizeof(loc), "%.500s:%lld", base_name(f->file),
                (long long)f->line);
        else
            snprintf(loc, sizeof(loc), "%.500s", base_name(f->file));
    } else if (f->func != NULL && f->func[0] != '\0' && f->module != NULL &&
               f->module[0] != '\0') {
        snprintf(loc, sizeof(loc), "(%.500s)", base_name(f->module));
    }
    int inl = f->func != NULL && f->func[0] != '\0' &&
        (f->flags & MS_RFRAME_INLINED);
    const char *name = inl ? f->func : ms_frame_label(f, label, sizeof(label));
    int room = t->width - t->col - (inl ? 10 : 0);
    int locw = loc[0] ? text_cols(loc) + 2 : 0;
    if (locw && room - locw < FUNC_ROOM_MIN && text_cols(name) + locw > room)
        locw = loc[0] = 0;
    put_max(t, abbreviate(name, room - locw, ab, sizeof(ab)), room - locw);
    if (inl)
        put(t, " [inlined]");
    if (loc[0]) {
        put(t, "  ");
        put(t, loc);
    }
}

/* One frame of a stack, after the indent: "#k name  file.c:12" (or
 * "(module)" without a file). */
static void
frame_line(ms_text_t *t, int indent, uint64_t k, uint64_t fi)
{
    for (int i = 0; i < indent; i++)
        put(t, " ");
    ms_text_putf(t, "#%-2llu ", (unsigned long long)k);
    ms_text_frame(t, fi);
    nl(t);
}

/* A stack from its first meaningful frame, up to STACK_LINES frames. */
static void
stack(ms_text_t *t, int indent, const uint64_t *frames, uint64_t n)
{
    uint64_t k = ms_report_first_of(t->r, frames, n), shown = 0;
    if (n == 0) {
        for (int i = 0; i < indent; i++)
            put(t, " ");
        put(t, "(no stack)");
        nl(t);
        return;
    }
    for (; k < n && shown < STACK_LINES; k++, shown++)
        frame_line(t, indent, k, frames[k]);
    if (k < n) {
        for (int i = 0; i < indent; i++)
            put(t, " ");
        ms_text_putf(t, "... %llu more frame%s", (unsigned long long)(n - k),
            plural(n - k));
        nl(t);
    }
}

/* ---- sections ---------------------------------------------------------------- */

static void
title(ms_text_t *t, const char *s)
{
    nl(t);
    put(t, s);
    if (t->r->sample_interval != 0)
        put(t, " (estimates: ~)");
    nl(t);
}

static void
header(ms_text_t *t)
{
    const ms_report_t *r = t->r;
    char a[64], b[64], c[64];
    put(t, "memscope report: ");
    put_max(t, r->program ? r->program : "(unknown program)",
        t->width - t->col - 14);
    ms_text_putf(t, " (pid %lld)", (long long)r->pid);
    nl(t);
    char mode[96] = "exact mode";
    if (r->sample_interval != 0)
        snprintf(mode, sizeof(mode), "sampled mode (one sample per %llu bytes "
            "on average)", (unsigned long long)r->sample_interval);
    uint64_t temps = 0;
    for (uint64_t i = 0; i < r->nsites; i++)
        temps += r->sites[i].temporaries;
    if (r->snapshot)
        snprintf(b, sizeof(b), " (snapshot %llu)",
            (unsigned long long)r->snapshot);
    para(t, 2, "%s, %s report%s, after %s; %s bytes", mode, r->trigger ?
        r->trigger : "unknown", r->snapshot ? b : "",
        duration(a, sizeof(a), r->duration_ns),
        r->byte_basis ? r->byte_basis : "unknown");
    para(t, 2, "%llu allocations (%s), %llu frees, %llu reallocations, "
        "%llu temporaries", (unsigned long long)r->allocs,
        bytes(a, sizeof(a), r->bytes_allocated), (unsigned long long)r->frees,
        (unsigned long long)r->reallocs, (unsigned long long)temps);
    para(t, 2, "peak live heap %s; live %s in %lld blocks; peak RSS %s",
        mbytes(a, sizeof(a), r->peak_live_bytes),
        mbytes(b, sizeof(b), r->live_bytes), (long long)r->live_blocks,
        mbytes(c, sizeof(c), r->peak_rss));
    para(t, 2, "%llu sites, %llu heap errors",
        (unsigned long long)r->nsites,
        (unsigned long long)(r->nheap_errors + r->dropped_heap_errors));
}

/* Blocks and bytes by leak class: "definitely_lost 8 blocks (32.0 KiB),
 * ..." every class (all), or "definitely_lost 8 (32.0 KiB)" for those
 * with blocks. */
static const char *
classes(char *line, size_t len, const uint64_t *blocks, const uint64_t *b,
    int all)
{
    char a[64];
    size_t n = 0;
    line[0] = '\0';
    for (unsigned c = 0; c < MS_LEAK_CLASSES && n < len; c++)
        if (all || blocks[c] > 0)
            n += (size_t)snprintf(line + n, len - n, "%s%s %llu%s%s (%s)",
                n ? ", " : "", ms_report_leak_class_name(c),
                (unsigned long long)blocks[c], all ? " block" : "",
                all ? plural(blocks[c]) : "", bytes(a, sizeof(a), b[c]));
    return line;
}

/* "N. figures (site ID)" and the site's stack. */
static void
site_entry(ms_text_t *t, int i, const ms_rsite_t *s, ms_rank_t by)
{
    ms_site_figs_t f;
    char a[64], b[64];
    const char *e = "";
    ms_report_site_figs(t->r, s, &f);
    if (f.estimated)
        e = "~";
    char line[512];
    ms_text_putf(t, "%2d. ", i + 1);
    switch (by) {
    case MS_RANK_CALLS:
        snprintf(line, sizeof(line), "%s%llu call%s, %s%s allocated, %s%s live", e,
            (unsigned long long)f.allocs, plural(f.allocs), e,
            bytes(a, sizeof(a), f.bytes),
            e, bytes(b, sizeof(b), f.live_bytes));
        break;
    case MS_RANK_TEMPORARIES:
        snprintf(line, sizeof(line), "%llu temporar%s of %llu %scall%s", (unsigned long long)
            s->temporaries, s->temporaries == 1 ? "y" : "ies",
            (unsigned long long)s->allocs, f.estimated ? "sampled " : "",
            plural(s->allocs));
        break;
    default:
        snprintf(line, sizeof(line), "%s%s live in %s%llu block%s, %s%llu call%s", e,
            bytes(a, sizeof(a), f.live_bytes), e,
            (unsigned long long)f.live_blocks, plural(f.live_blocks), e,
            (unsigned long long)f.allocs, plural(f.allocs));
        break;
    }
    para(t, 4, "%s (site %llu)", line, (unsigned long long)s->id);
    if (by == MS_RANK_LEAK && ms_report_site_class(t->r, s) < MS_LEAK_CLASSES) {
        put(t, "    ");
        para(t, 4, "%s", classes(line, sizeof(line), s->leak_blocks,
            s->leak_bytes, 0));
    }
    stack(t, 4, s->frames, s->depth);
}

static uint64_t
sites_with(const ms_report_t *r, ms_rank_t by)
{
    uint64_t n = 0;
    for (uint64_t i = 0; i < r->nsites; i++)
        n += ms_report_site_rank(r, &r->sites[i], by) > 0;
    return n;
}

static void
more(ms_text_t *t, uint64_t all, uint64_t shown)
{
    if (all > shown)
        para(t, 0, "And %llu more sites (the JSON and HTML reports list "
            "them all).", (unsigned long long)(all - shown));
}

static void
site_section(ms_text_t *t, ms_rank_t by)
{
    uint64_t idx[TOP_SITES];
    int n = ms_report_top_sites(t->r, by, idx, TOP_SITES);
    if (n == 0) {
        put(t, "None.");
        nl(t);
    }
    for (int i = 0; i < n; i++)
        site_entry(t, i, &t->r->sites[idx[i]], by);
    more(t, sites_with(t->r, by), (uint64_t)n);
}

static void
calls(ms_text_t *t)
{
    title(t, "MOST CALLS TO ALLOCATION FUNCTIONS");
    site_section(t, MS_RANK_CALLS);
}

static void
peak(ms_text_t *t)
{
    const ms_report_t *r = t->r;
    char a[64];
    title(t, "PEAK MEMORY CONSUMERS");
    para(t, 0, "Peak live heap %s. The bytes each site held at the peak: "
        "not measured. The sites holding the most live bytes %s:",
        mbytes(a, sizeof(a), r->peak_live_bytes),
        ms_report_at_exit(r) ? "at exit" : "when this report was taken");
    site_section(t, MS_RANK_LIVE);
}

static void
leaks(ms_text_t *t)
{
    const ms_report_t *r = t->r;
    char a[64];
    uint64_t nsites = sites_with(r, MS_RANK_LIVE);
    title(t, "MEMORY LEAKS");
    para(t, 0, "%lld blocks, %s, %s in %llu sites.%s", (long long)r->live_blocks,
        mbytes(a, sizeof(a), r->live_bytes), ms_report_at_exit(r) ?
        "still live at exit" : "live when this report was taken",
        (unsigned long long)nsites, ms_report_at_exit(r) ? "" :
        " The program was still running: a block is a leak only if it is "
        "still live at exit.");
    const char *why = ms_report_leak_unmeasured(r);
    if (why != NULL) {
        para(t, 0, "Leak classes: not measured (%s).", why);
    } else {
        char line[512];
        uint64_t lb[MS_LEAK_CLASSES], ly[MS_LEAK_CLASSES];
        ms_report_leak_shown(r, lb, ly);
        para(t, 0, "By reachability: %s.", classes(line, sizeof(line),
            lb, ly, 1));
    }
    if (r->supp_file != NULL)
        para(t, 0, "Suppressed by %llu pattern%s of %s: %llu blocks, %s, in "
            "%llu sites, not listed.", (unsigned long long)r->nsupps,
            r->nsupps == 1 ? "" : "s", r->supp_file,
            (unsigned long long)r->supp_blocks,
            mbytes(a, sizeof(a), r->supp_bytes),
            (unsigned long long)r->supp_sites);
    site_section(t, MS_RANK_LEAK);
}

static void
temporaries(ms_text_t *t)
{
    const ms_report_t *r = t->r;
    uint64_t temps = 0, allocs = 0;
    for (uint64_t i = 0; i < r->nsites; i++) {
        temps += r->sites[i].temporaries;
        allocs += r->sites[i].allocs;
    }
    title(t, "MOST TEMPORARY ALLOCATIONS");
    para(t, 0, "%llu temporaries (blocks freed before their thread's next "
        "allocation) of %llu %sallocations.", (unsigned long long)temps,
        (unsigned long long)allocs, r->sample_interval ? "sampled " : "");
    site_section(t, MS_RANK_TEMPORARIES);
}

static void
heap_errors(ms_text_t *t)
{
    const ms_report_t *r = t->r;
    char a[64];
    title(t, "HEAP ERRORS");
    uint64_t all = r->nheap_errors + r->dropped_heap_errors;
    if (all == 0) {
        put(t, "None found.");
        nl(t);
        return;
    }
    para(t, 0, "%llu found%s.", (unsigned long long)all,
        r->dropped_heap_errors ? "; only the first were kept" : "");
    for (uint64_t i = 0; i < r->nheap_errors && i < TOP_ERRORS; i++) {
        const ms_rherr_t *e = &r->heap_errors[i];
        char blk[96] = "";
        if (e->block)
            snprintf(blk, sizeof(blk), " in the %llu-byte block at 0x%llx",
                (unsigned long long)e->size, (unsigned long long)e->block);
        ms_text_putf(t, "%2llu. ", (unsigned long long)i + 1);
        put_max(t, e->kind ? e->kind : "unknown", 40);
        para(t, 4, " of 0x%llx%s on thread %llu at %s%s%.40s%s%.40s",
            (unsigned long long)e->address, blk, (unsigned long long)e->thread,
            duration(a, sizeof(a), e->t_ns),
            e->alloc_kind ? "; allocated with " : "",
            e->alloc_kind ? e->alloc_kind : "",
            e->free_kind ? "; freed with " : "",
            e->free_kind ? e->free_kind : "");
        if (e->nfree_frames) {
            put(t, "    freed at:");
            nl(t);
            stack(t, 6, e->free_frames, e->nfree_frames);
        }
        if (e->nalloc_frames) {
            put(t, "    allocated at:");
            nl(t);
            stack(t, 6, e->alloc_frames, e->nalloc_frames);
        }
    }
    if (r->nheap_errors > TOP_ERRORS)
        para(t, 0, "And %llu more (the JSON and HTML reports list them all).",
            (unsigned long long)(r->nheap_errors - TOP_ERRORS));
}

void
ms_text_write_width(ms_writer_t *w, const ms_report_t *r, int width)
{
    ms_text_t t = { .w = w, .r = r, .width = width < WIDTH_MIN ? WIDTH_MIN :
        width > WIDTH_MAX ? WIDTH_MAX : width };
    header(&t);
    calls(&t);
    peak(&t);
    leaks(&t);
    temporaries(&t);
    heap_errors(&t);
}

void
ms_text_write(ms_writer_t *w, const ms_report_t *r)
{
    ms_text_write_width(w, r, 80);
}

/* ---- the line layer, for `memscope top` (text.h) --------------------------- */

void
ms_text_put(ms_text_t *t, const char *s)
{
    put(t, s);
}

void
ms_text_put_max(ms_text_t *t, const char *s, int max)
{
    put_max(t, s, max);
}

void
ms_text_nl(ms_text_t *t)
{
    nl(t);
}

const char *
ms_text_bytes(char *buf, size_t len, uint64_t v)
{
    return bytes(buf, len, v);
}
