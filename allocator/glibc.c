/*
 * glibc.c - glibc's malloc extras (mallinfo, mallinfo2, malloc_trim,
 * malloc_stats, malloc_info, mallopt) answered from the embedded engine,
 * so that a program asking glibc's questions learns about the heap it
 * really uses (glibc's own is empty under the library). The figures are
 * the program's: the tracer's arena left out (mallctl.c). glibc's
 * __libc_ names and cfree are aliases in alloc.c.
 *
 * jemalloc keeps no free lists of chunks: what glibc counts in chunks is
 * given in jemalloc's terms (docs/design.md, "The exported ABI"):
 *   arena    = active bytes (pages holding blocks)
 *   ordblks  = 0, smblks = 0, fsmblks = 0, usmblks = 0 (no such chunks)
 *   hblks    = large blocks live, hblkhd = their bytes
 *   uordblks = bytes allocated (size classes), after the calling thread's
 *              cache is flushed (cached blocks count as allocated)
 *   fordblks = active - allocated
 *   keepcost = dirty and muzzy bytes: what malloc_trim would release
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdint.h>

#include "../engine/engine.h"
#include "internal.h"

#define ALL "stats.arenas.4096."    /* MALLCTL_ARENAS_ALL */

typedef struct {
    uint64_t arena, hblks, hblkhd, uordblks, fordblks, keepcost;
} figures_t;

static void
figures(figures_t *f)
{
    ms_je_mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
    ms_heap_refresh();
    uint64_t page = 4096;
    size_t len = sizeof(page);
    ms_je_mallctl("arenas.page", &page, &len, NULL, 0);
    f->uordblks = ms_heap_figure("stats.allocated");
    f->arena = ms_heap_figure("stats.active");
    f->fordblks = f->arena > f->uordblks ? f->arena - f->uordblks : 0;
    uint64_t nm = ms_heap_figure(ALL "large.nmalloc");
    uint64_t nd = ms_heap_figure(ALL "large.ndalloc");
    f->hblks = nm > nd ? nm - nd : 0;
    f->hblkhd = ms_heap_figure(ALL "large.allocated");
    f->keepcost = (ms_heap_figure(ALL "pdirty") +
        ms_heap_figure(ALL "pmuzzy")) * page;
}

MS_EXPORT struct mallinfo2
mallinfo2(void)
{
    figures_t f;
    figures(&f);
    struct mallinfo2 m = { .arena = f.arena, .hblks = f.hblks,
        .hblkhd = f.hblkhd, .uordblks = f.uordblks, .fordblks = f.fordblks,
        .keepcost = f.keepcost };
    return m;
}

static int
clamp(uint64_t v)
{
    return v > INT_MAX ? INT_MAX : (int)v;
}

/* The int form: each figure clamped (glibc's wraps). */
MS_EXPORT struct mallinfo
mallinfo(void)
{
    figures_t f;
    figures(&f);
    struct mallinfo m = { .arena = clamp(f.arena), .hblks = clamp(f.hblks),
        .hblkhd = clamp(f.hblkhd), .uordblks = clamp(f.uordblks),
        .fordblks = clamp(f.fordblks), .keepcost = clamp(f.keepcost) };
    return m;
}

/* Every arena's unused dirty and muzzy pages go back to the system; 1 when
 * there were any. pad is glibc's top-of-heap slack: no such thing here. */
MS_EXPORT int
malloc_trim(size_t pad)
{
    (void)pad;
    ms_je_mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
    ms_heap_refresh();
    uint64_t before = ms_heap_figure(ALL "pdirty") + ms_heap_figure(ALL "pmuzzy");
    ms_je_mallctl("arena.4096.purge", NULL, NULL, NULL, 0);
    return before != 0;
}

/* Number of arenas, and the figure name of arena i's leaf. */
static unsigned
narenas(void)
{
    unsigned n = 0;
    size_t len = sizeof(n);
    ms_je_mallctl("arenas.narenas", &n, &len, NULL, 0);
    return n;
}

/* Arena i's figure leaf, through mallctl's filter: -1 when the program
 * has no arena i (not made yet, or the tracer's). */
static int64_t
arena_figure(unsigned i, const char *leaf)
{
    char name[160];
    uint64_t v = 0;
    size_t len = sizeof(v);
    snprintf(name, sizeof(name), "stats.arenas.%u.%s", i, leaf);
    if (ms_heap_ctl(name, &v, &len, NULL, 0) != 0)
        return -1;
    return (int64_t)v;
}

/* glibc's shape on stderr: each arena's system bytes (mapped) and bytes in
 * use (allocated), then the totals. glibc's "max mmap" lines are left out:
 * the engine keeps no such maximum. */
MS_EXPORT void
malloc_stats(void)
{
    ms_heap_refresh();
    unsigned n = narenas(), shown = 0;
    for (unsigned i = 0; i < n; i++) {
        int64_t mapped = arena_figure(i, "mapped");
        if (mapped <= 0)
            continue;
        int64_t used = arena_figure(i, "small.allocated") +
            arena_figure(i, "large.allocated");
        fprintf(stderr, "Arena %u:\nsystem bytes     = %10lld\n"
            "in use bytes     = %10lld\n", shown++, (long long)mapped,
            (long long)used);
    }
    fprintf(stderr, "Total (incl. mmap):\nsystem bytes     = %10llu\n"
        "in use bytes     = %10llu\n",
        (unsigned long long)ms_heap_figure("stats.mapped"),
        (unsigned long long)ms_heap_figure("stats.allocated"));
}

/* glibc's XML: one <heap> per arena whose <sizes> are the free regions of
 * each small size class (jemalloc's bins), then the totals. */
MS_EXPORT int
malloc_info(int options, FILE *fp)
{
    if (options != 0)
        return EINVAL;
    if (fp == NULL)
        return EINVAL;
    ms_je_mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
    ms_heap_refresh();
    unsigned n = narenas(), nbins = 0;
    size_t len = sizeof(nbins);
    ms_je_mallctl("arenas.nbins", &nbins, &len, NULL, 0);
    uint64_t all_count = 0, all_size = 0, all_mapped = 0;
    fputs("<malloc version=\"1\">\n", fp);
    for (unsigned i = 0; i < n; i++) {
        int64_t mapped = arena_figure(i, "mapped");
        if (mapped <= 0)
            continue;
        uint64_t count = 0, bytes = 0;
        size_t from = 1;
        fprintf(fp, "<heap nr=\"%u\">\n<sizes>\n", i);
        for (unsigned j = 0; j < nbins; j++) {
            char name[96];
            size_t size = 0;
            uint32_t nregs = 0;
            len = sizeof(size);
            snprintf(name, sizeof(name), "arenas.bin.%u.size", j);
            ms_je_mallctl(name, &size, &len, NULL, 0);
            len = sizeof(nregs);
            snprintf(name, sizeof(name), "arenas.bin.%u.nregs", j);
            ms_je_mallctl(name, &nregs, &len, NULL, 0);
            snprintf(name, sizeof(name), "bins.%u.curslabs", j);
            int64_t slabs = arena_figure(i, name);
            snprintf(name, sizeof(name), "bins.%u.curregs", j);
            int64_t regs = arena_figure(i, name);
            int64_t free_regs = slabs * (int64_t)nregs - regs;
            if (slabs > 0 && regs >= 0 && free_regs > 0) {
                fprintf(fp, "  <size from=\"%zu\" to=\"%zu\" total=\"%llu\" "
                    "count=\"%lld\"/>\n", from, size,
                    (unsigned long long)free_regs * size, (long long)free_regs);
                count += (uint64_t)free_regs;
                bytes += (uint64_t)free_regs * size;
            }
            from = size + 1;
        }
        fprintf(fp, "</sizes>\n<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
            "<total type=\"rest\" count=\"%llu\" size=\"%llu\"/>\n"
            "<system type=\"current\" size=\"%lld\"/>\n"
            "<aspace type=\"total\" size=\"%lld\"/>\n</heap>\n",
            (unsigned long long)count, (unsigned long long)bytes,
            (long long)mapped, (long long)mapped);
        all_count += count;
        all_size += bytes;
        all_mapped += (uint64_t)mapped;
    }
    uint64_t nm = ms_heap_figure(ALL "large.nmalloc");
    uint64_t nd = ms_heap_figure(ALL "large.ndalloc");
    fprintf(fp, "<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
        "<total type=\"rest\" count=\"%llu\" size=\"%llu\"/>\n"
        "<total type=\"mmap\" count=\"%llu\" size=\"%llu\"/>\n"
        "<system type=\"current\" size=\"%llu\"/>\n"
        "<aspace type=\"total\" size=\"%llu\"/>\n</malloc>\n",
        (unsigned long long)all_count, (unsigned long long)all_size,
        (unsigned long long)(nm > nd ? nm - nd : 0),
        (unsigned long long)ms_heap_figure(ALL "large.allocated"),
        (unsigned long long)all_mapped, (unsigned long long)all_mapped);
    return 0;
}

/*
 * glibc's parameters are accepted as glibc accepts them (1; 0 for an
 * M_MXFAST beyond glibc's limit) and change nothing: the engine's size
 * classes, arenas and purging are fixed at start-up, and none of glibc's
 * knobs has a meaning in them that could be honoured exactly.
 */
MS_EXPORT int
mallopt(int param, int value)
{
    if (param == M_MXFAST && (value < 0 ||
            (size_t)value > 80 * sizeof(size_t) / 4))
        return 0;
    return 1;
}
