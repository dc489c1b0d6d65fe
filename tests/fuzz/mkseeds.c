/*
 * mkseeds.c - hand-made seeds for the fuzzer's corpus (tests/fuzz/fuzz.mk
 * adds reports of a real run): the smallest valid report, one with an edge
 * value in every kind of field, and two files that stop in the header.
 *
 *   mkseeds DIR
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "../../exporters/bin_read.h"
#include "../../exporters/export.h"

static const char *dir;

static void
write_report(const char *name, const ms_report_t *r)
{
    char path[4096];
    ms_writer_t *w = malloc(sizeof(*w));
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (w == NULL || ms_writer_open(w, path, 0644) != 0) {
        perror(path);
        exit(1);
    }
    ms_bin_write(w, r);
    if (ms_writer_close(w) != 0) {
        perror(path);
        exit(1);
    }
    free(w);
}

static void
write_raw(const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void
header(ms_report_t *r, const char *mode, uint64_t interval)
{
    r->program = "seed";
    r->mode = (char *)mode;
    r->trigger = "exit";
    r->byte_basis = "requested";
    r->sample_interval = interval;
}

/* One of everything, at the edges of its type. */
static void
edge(ms_report_t *r)
{
    static ms_rframe_t frames[4] = {
        { 0x401000, 0x1000, "f;g\nh", "a.c", "/lib/libx.so", 12, "0123abcd",
          MS_RFRAME_INLINED },
        { 0x402000, 0x2000, NULL, NULL, "/lib/libx.so", 0, "0123abcd", 0 },
        { 0xffffffffffffffffull, 0, NULL, NULL, NULL, -1, NULL, 0 },
        { 1, 1, "\xff\xfe bad utf-8", "", "", INT64_MAX, NULL, 0 },
    };
    static uint64_t stack[] = { 0, 1, 2, 3, 0 }, none[1];
    static ms_rsite_t sites[2] = {
        { .id = 1, .depth = 5, .frames = stack, .allocs = UINT64_MAX,
          .bytes = 1, .live_bytes = 7, .life = { 1, 2, [23] = UINT64_MAX } },
        { .id = 2, .depth = 0, .frames = none },
    };
    static ms_rthread_t threads[] = { { 1, -1, NULL, 1, 2, 3, 4, 5, 6,
        INT64_MIN } };
    static ms_rtask_t tasks[] = { { 1, 0, "t", 1, 2, 3, 4, 5, 6, 7, 8, -9,
        INT64_MAX }, { 2, 1, NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 } };
    static ms_rowner_t owners[] = { { "a", 1 }, { NULL, 2 } };
    static ms_rvar_t vars[] = { { .id = 1, .address = 0x1000, .name = "v",
        .type = "int *", .status = "live", .line = -3, .nowners = 2,
        .owners = owners, .dropped_owners = 5 } };
    static ms_rpoint_t points[] = { { 10, -1, -1, 0, INT64_MIN, INT64_MAX,
        1, 2, 3, 4, 5 } };
    static uint64_t af[] = { 0, 3 }, ff[] = { 1 };
    static ms_rherr_t herr[] = { { "double_free", NULL, "free", 0x10, 0, 0,
        1, 99, 2, 1, af, ff }, { "mismatched_free", "mallocx", "sdallocx",
        0x20, 0x20, 16, 1, 100, 0, 0, NULL, NULL } };
    /* site 0's figures in two rows, one of a thread the report lacks */
    static ms_rrow_t rows[] = {
        { 0, 1, 1, UINT64_MAX - 1, 1, 0, 0, 1.5, -1.0, 0.0, 1e300 },
        { 0, 7, 2, 1, 0, 0, 0, NAN, INFINITY, -INFINITY, 0.5 },
    };
    header(r, "sampled", 4096);
    sites[0].est_allocs = NAN;
    sites[0].est_bytes = INFINITY;
    sites[0].est_live_blocks = -0.0;
    sites[0].est_live_bytes = 1e300;
    sites[1].est_live_bytes = 0.5;
    r->pid = INT64_MIN;
    r->rss = -1;
    r->size_hist[47] = UINT64_MAX;
    r->alloc_kinds[MS_REPORT_ALLOC_KINDS - 1] = UINT64_MAX;
    r->free_kinds[0] = 1;
    r->frames = frames; r->nframes = 4;
    r->sites = sites; r->nsites = 2;
    r->rows = rows; r->nrows = 2;
    r->threads = threads; r->nthreads = 1;
    r->tasks = tasks; r->ntasks = 2;
    r->vars = vars; r->nvars = 1;
    r->timeline = points; r->ntimeline = 1;
    r->heap_errors = herr; r->nheap_errors = 2;
    r->dropped_heap_errors = 3;
    r->leak_checked = 1;    /* a leak section with its site list */
    r->leak_blocks[MS_LEAK_DEFINITE] = UINT64_MAX;
    r->leak_bytes[MS_LEAK_REACHABLE] = 7;
    sites[1].leak_blocks[MS_LEAK_INDIRECT] = 1;
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mkseeds DIR\n");
        return 2;
    }
    dir = argv[1];
    ms_report_t r;
    memset(&r, 0, sizeof(r));
    header(&r, "exact", 0);
    write_report("seed-empty.bin", &r);
    memset(&r, 0, sizeof(r));
    edge(&r);
    write_report("seed-edge.bin", &r);

    unsigned char h[MS_BIN_HEADER_LEN + MS_BIN_TRAILER_LEN] = { 0 };
    memcpy(h, MS_BIN_MAGIC, MS_BIN_MAGIC_LEN);
    write_raw("seed-magic.bin", h, MS_BIN_MAGIC_LEN);
    h[8] = MS_BIN_VERSION;
    h[16] = sizeof(h);
    uint64_t sum = XXH3_64bits(h, MS_BIN_HEADER_LEN);
    for (int i = 0; i < 8; i++)
        h[MS_BIN_HEADER_LEN + i] = (unsigned char)(sum >> (8 * i));
    write_raw("seed-no-sections.bin", h, sizeof(h));
    return 0;
}
