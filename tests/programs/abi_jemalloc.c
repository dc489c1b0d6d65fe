/*
 * abi_jemalloc.c - a program linked with -ljemalloc that calls each entry
 * point of jemalloc's extended API and each of glibc's malloc extras
 * (tests/integration/abi_jemalloc.sh).
 *
 * Its stdout is the same alone and under the library: it prints only what
 * jemalloc defines (sizes, contents, return codes), never an address or a
 * figure of the heap's state. The calls it makes, by kind, are fixed:
 *   mallocx 7, rallocx 2, xallocx 1 (a large block shrunk in place),
 *   dallocx 3, sdallocx 2, free of mallocx memory 2;
 *   glibc's names: aligned 4 (__libc_memalign, __libc_valloc,
 *   __libc_pvalloc, __posix_memalign), __libc_malloc 1, __libc_calloc 1,
 *   __libc_realloc 1, and 6 frees (__libc_free 4, cfree, free);
 *   realloc(NULL, n) REALLOC_NEW times and reallocarray(NULL, ...) once,
 *   each block freed (free); REALLOC_GROW blocks of malloc grown (and
 *   some shrunk) by realloc, then freed (free): REALLOC_GROW reallocs,
 *   which sampled mode's inlined path takes when it can.
 * Then it leaves LIVE_BLOCKS blocks live and prints mallinfo2().uordblks
 * on stderr, which the test compares with the exit report's live bytes.
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <jemalloc/jemalloc.h>

#define REALLOC_NEW 1000
#define REALLOC_GROW 1000

/* glibc's own names, which its headers do not all declare */
extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);
/* cfree and __posix_memalign are only compatibility symbols in glibc: a
 * program cannot link them, but finds them by name when a library defines
 * them (the library does); alone it falls back on glibc's __libc_free and
 * on posix_memalign. Alone, the __libc_ names are glibc's heap, beside
 * jemalloc's: their blocks go back through __libc_free. */
static void (*cfree_fn)(void *);
static int (*posix_memalign_fn)(void **, size_t, size_t);

#define LIVE_BLOCKS 2000

static int failures;

static void
check(int ok, const char *what)
{
    printf("%s: %s\n", what, ok ? "ok" : "FAILED");
    if (!ok)
        failures++;
}

static int
all(const unsigned char *p, size_t from, size_t to, unsigned char v)
{
    for (size_t i = from; i < to; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

static size_t printed;

static void
count_cb(void *opaque, const char *s)
{
    (void)opaque;
    printed += strlen(s);
}

int
main(void)
{
    /* mallocx, then free (jemalloc allows it) */
    unsigned char *p1 = mallocx(100, 0);
    memset(p1, 1, 100);
    /* a sampled block is page-aligned and a page at least (docs/sampling.md):
     * MEMSCOPE_SAMPLE=1 samples every block */
    size_t s1 = p1 ? sallocx(p1, 0) : 0;
    check(p1 && (s1 == nallocx(100, 0) ||
        (((uintptr_t)p1 & 4095) == 0 && s1 >= 4096)), "mallocx 100, sallocx == nallocx");
    printf("nallocx(100) = %zu, nallocx(1) = %zu\n", nallocx(100, 0), nallocx(1, 0));
    int e = errno = 1234;
    free(p1);
    check(errno == e, "free of mallocx memory keeps errno");

    /* zeroed, grown zeroed, released with dallocx */
    unsigned char *p2 = mallocx(1000, MALLOCX_ZERO);
    check(p2 && all(p2, 0, 1000, 0), "mallocx ZERO is zeroed");
    memset(p2, 7, 1000);
    p2 = rallocx(p2, 5000, MALLOCX_ZERO);
    check(p2 && all(p2, 0, 1000, 7) && all(p2, 1000, 5000, 0),
        "rallocx ZERO keeps the contents and zeroes the rest");
    errno = e;
    dallocx(p2, 0);
    check(errno == e, "dallocx keeps errno");

    /* aligned, reallocated aligned, released with its size */
    unsigned char *p3 = mallocx(64, MALLOCX_ALIGN(256));
    check(p3 && ((uintptr_t)p3 & 255) == 0, "mallocx ALIGN(256) is aligned");
    memset(p3, 3, 64);
    p3 = rallocx(p3, 300, MALLOCX_ALIGN(256));
    check(p3 && ((uintptr_t)p3 & 255) == 0 && all(p3, 0, 64, 3),
        "rallocx ALIGN(256) is aligned and keeps the contents");
    sdallocx(p3, 300, MALLOCX_ALIGN(256));

    /* an alignment above the page a sampled block is given: kept, whether
     * the block is sampled or not (MEMSCOPE_SAMPLE=1 samples every one) */
    int kept = 1;
    for (int i = 0; i < 8; i++) {
        void *q = mallocx(5000, MALLOCX_ALIGN(16384));
        kept &= q != NULL && ((uintptr_t)q & 16383) == 0;
        dallocx(q, MALLOCX_ALIGN(16384));
    }
    check(kept, "mallocx ALIGN(16384) is aligned, 8 times");

    /* a large block shrunk in place by xallocx */
    unsigned char *p4 = mallocx(65536, 0);
    memset(p4, 4, 65536);
    size_t u = xallocx(p4, 32768, 0, 0);
    check(u == 32768 && sallocx(p4, 0) == 32768 && all(p4, 0, 32768, 4),
        "xallocx shrinks a large block in place");
    check(xallocx(p4, 100, 32668, 0) == 32768, "xallocx within the block changes nothing");
    sdallocx(p4, 32768, 0);

    /* an explicit tcache */
    unsigned tc;
    size_t len = sizeof(tc);
    check(mallctl("tcache.create", &tc, &len, NULL, 0) == 0, "mallctl tcache.create");
    void *p5 = mallocx(50, MALLOCX_TCACHE(tc));
    check(p5 != NULL, "mallocx TCACHE");
    dallocx(p5, MALLOCX_TCACHE(tc));
    check(mallctl("tcache.destroy", NULL, NULL, &tc, sizeof(tc)) == 0, "mallctl tcache.destroy");

    /* an arena of the program's own */
    unsigned a, found;
    len = sizeof(a);
    check(mallctl("arenas.create", &a, &len, NULL, 0) == 0, "mallctl arenas.create");
    void *p6 = mallocx(200, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE);
    len = sizeof(found);
    check(p6 && mallctl("arenas.lookup", &found, &len, &p6, sizeof(p6)) == 0 &&
        found == a, "mallocx ARENA: the block is in that arena");
    dallocx(p6, MALLOCX_TCACHE_NONE);

    /* mallctl's figures follow the program's allocations */
    uint64_t epoch = 1, ta0, ta1;
    size_t before, after;
    len = sizeof(epoch);
    check(mallctl("epoch", &epoch, &len, &epoch, len) == 0, "mallctl epoch");
    len = sizeof(before);
    mallctl("stats.allocated", &before, &len, NULL, 0);
    len = sizeof(ta0);
    check(mallctl("thread.allocated", &ta0, &len, NULL, 0) == 0, "mallctl thread.allocated");
    void *p7 = mallocx(1 << 20, 0);
    memset(p7, 5, 1 << 20);
    len = sizeof(ta1);
    mallctl("thread.allocated", &ta1, &len, NULL, 0);
    check(ta1 - ta0 >= (1 << 20), "thread.allocated counts a 1 MiB mallocx");
    len = sizeof(epoch);
    mallctl("epoch", &epoch, &len, &epoch, len);
    len = sizeof(after);
    mallctl("stats.allocated", &after, &len, NULL, 0);
    check(after >= before + (1 << 20), "stats.allocated counts a 1 MiB mallocx");
    free(p7);

    size_t page;
    len = sizeof(page);
    check(mallctl("arenas.page", &page, &len, NULL, 0) == 0, "mallctl arenas.page");
    printf("arenas.page = %zu\n", page);
    size_t mib[4], miblen = 4, bin0;
    check(mallctlnametomib("arenas.bin.0.size", mib, &miblen) == 0 && miblen == 4,
        "mallctlnametomib arenas.bin.0.size");
    len = sizeof(bin0);
    check(mallctlbymib(mib, miblen, &bin0, &len, NULL, 0) == 0, "mallctlbymib");
    printf("arenas.bin.0.size = %zu\n", bin0);
    const char *version;
    len = sizeof(version);
    check(mallctl("version", &version, &len, NULL, 0) == 0 && version[0] != '\0',
        "mallctl version");
    printf("no such name: %s\n", strerror(mallctl("no.such.name", NULL, NULL, NULL, 0)));
    int bad = 1;
    printf("opt write: %s\n", strerror(mallctl("opt.narenas", NULL, NULL, &bad, sizeof(bad))));

    /* a write the library refuses (on stderr: alone, jemalloc takes it) */
    void *hooks = NULL;
    len = sizeof(hooks);
    check(mallctl("arena.0.extent_hooks", &hooks, &len, NULL, 0) == 0 && hooks,
        "mallctl arena.0.extent_hooks read");
    fprintf(stderr, "extent_hooks write: %s\n",
        strerror(mallctl("arena.0.extent_hooks", NULL, NULL, &hooks, sizeof(hooks))));

    malloc_stats_print(count_cb, NULL, NULL);
    check(printed > 100, "malloc_stats_print writes the engine's statistics");

    /* glibc's names for the family */
    *(void **)&cfree_fn = dlsym(RTLD_DEFAULT, "cfree");
    if (cfree_fn == NULL)
        cfree_fn = __libc_free;
    *(void **)&posix_memalign_fn = dlsym(RTLD_DEFAULT, "__posix_memalign");
    if (posix_memalign_fn == NULL)
        posix_memalign_fn = posix_memalign;
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *q1 = __libc_malloc(100);
    check(q1 != NULL, "__libc_malloc");
    memset(q1, 1, 100);
    __libc_free(q1);
    unsigned char *q2 = __libc_calloc(10, 10);
    check(q2 && all(q2, 0, 100, 0), "__libc_calloc is zeroed");
    memset(q2, 2, 100);
    q2 = __libc_realloc(q2, 1000);
    check(q2 && all(q2, 0, 100, 2), "__libc_realloc keeps the contents");
    cfree_fn(q2);
    /* realloc(NULL, n) is an allocation of realloc's kind, whichever path
     * takes it (the sampled mode's inlined one too) */
    for (int i = 0; i < REALLOC_NEW; i++) {
        unsigned char *r = realloc(NULL, 40 + (size_t)(i % 64));
        check(r != NULL, "realloc(NULL, n)");
        r[0] = (unsigned char)i;
        free(r);
    }
    /* realloc of a live block: a free and an allocation of realloc's
     * kind, the contents kept (in place or moved) */
    for (int i = 0; i < REALLOC_GROW; i++) {
        size_t from = 16 + (size_t)(i % 48), to = i % 5 == 0 ? 8 : from + (size_t)(i % 200);
        unsigned char *g = malloc(from);
        check(g != NULL, "malloc before realloc");
        memset(g, i & 0xff, from);
        g = realloc(g, to);
        check(g != NULL && all(g, 0, from < to ? from : to, (unsigned char)(i & 0xff)),
            "realloc keeps the contents");
        free(g);
    }
    unsigned char *ra = reallocarray(NULL, 10, 10);
    check(ra != NULL, "reallocarray(NULL, 10, 10)");
    memset(ra, 3, 100);
    free(ra);
    void *q3 = __libc_memalign(64, 100);
    check(q3 && ((uintptr_t)q3 & 63) == 0, "__libc_memalign is aligned");
    __libc_free(q3);
    void *q4 = __libc_valloc(100);
    check(q4 && ((uintptr_t)q4 & (ps - 1)) == 0, "__libc_valloc is page-aligned");
    __libc_free(q4);
    void *q5 = __libc_pvalloc(100);
    check(q5 && ((uintptr_t)q5 & (ps - 1)) == 0, "__libc_pvalloc is page-aligned");
    memset(q5, 5, ps);      /* a whole page */
    __libc_free(q5);
    void *q6 = NULL;
    check(posix_memalign_fn(&q6, 128, 50) == 0 && ((uintptr_t)q6 & 127) == 0,
        "__posix_memalign is aligned");
    free(q6);
    check(posix_memalign_fn(&q6, 3, 50) == EINVAL, "__posix_memalign refuses alignment 3");

    /* glibc's extras */
    check(mallopt(M_ARENA_MAX, 2) == 1 && mallopt(M_TRIM_THRESHOLD, 1 << 20) == 1,
        "mallopt accepts glibc's parameters");
    check(mallopt(M_MXFAST, 1000) == 0, "mallopt refuses an M_MXFAST beyond glibc's limit");
    struct mallinfo2 mi2 = mallinfo2();
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    struct mallinfo mi = mallinfo();    /* deprecated, still called */
#pragma GCC diagnostic pop
    check(mi2.fordblks < ((size_t)1 << 40) && mi.uordblks >= 0, "mallinfo and mallinfo2");
    int t = malloc_trim(0);
    check(t == 0 || t == 1, "malloc_trim answers 0 or 1");
    malloc_stats();
    char *info = NULL;
    size_t info_len = 0;
    FILE *mf = open_memstream(&info, &info_len);
    check(mf && malloc_info(0, mf) == 0, "malloc_info");
    fclose(mf);
    check(info && strncmp(info, "<malloc version=\"1\">", 20) == 0 &&
        strstr(info, "</malloc>") != NULL, "malloc_info writes glibc's XML");
    free(info);
    mf = fopen("/dev/null", "w");
    check(mf && malloc_info(1, mf) == EINVAL, "malloc_info refuses options");
    fclose(mf);

    /* blocks left live for the exit report, and mallinfo2's view of them */
    fprintf(stderr, "uordblks_before=%zu\n", mallinfo2().uordblks);
    static void *live[LIVE_BLOCKS];
    for (int i = 0; i < LIVE_BLOCKS; i++) {
        live[i] = malloc((size_t)(i % 4000) * 3 + 1);
        memset(live[i], 9, (size_t)(i % 4000) * 3 + 1);
    }
    fprintf(stderr, "uordblks=%zu\n", mallinfo2().uordblks);

    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures != 0;
}
