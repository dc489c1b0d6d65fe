/*
 * abi_jemalloc.c - a program linked with -ljemalloc that calls each entry
 * point of jemalloc's extended API (tests/integration/abi_jemalloc.sh).
 *
 * Its stdout is the same alone and under the library: it prints only what
 * jemalloc defines (sizes, contents, return codes), never an address or a
 * figure of the heap's state. The calls it makes, by kind, are fixed:
 *   mallocx 7, rallocx 2, xallocx 1 (a large block shrunk in place),
 *   dallocx 3, sdallocx 2, free of mallocx memory 2.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <jemalloc/jemalloc.h>

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
    check(p1 && sallocx(p1, 0) == nallocx(100, 0), "mallocx 100, sallocx == nallocx");
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

    malloc_stats_print(count_cb, NULL, NULL);
    check(printed > 100, "malloc_stats_print writes the engine's statistics");

    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures != 0;
}
