/*
 * md_names.c - the markdown writer (exporters/md.c) on a report whose every
 * name is hostile: markdown syntax at the start of a line or inline, raw
 * HTML, links, runs of backticks, control characters, invalid UTF-8,
 * bidirectional controls, a name longer than the writer shows, and random
 * bytes. Built by tests/integration/report_md.sh with md.c and writer.c
 * (their tool build: plain malloc):
 *
 *   md_names OUT.md
 *
 * writes OUT.md and prints each name, in hex, one a line, in the order
 * used: name i is the program (i = 0), thread i+1, task i+1 (a child of
 * task i), the function and file of site i+1's only frame, variable i+1
 * (leaked, in site i+1) and its owner. One heap error (a double free) was
 * freed from frame 0 and allocated at frame 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../exporters/export.h"
#include "../../exporters/report.h"
#include "../../exporters/writer.h"

#define NNAMES 20

static const char *fixed[] = {
    "- item", "1. one", "2) two", "    indented code", "# heading",
    "> quote", "<script>alert(1)</script>", "[link](javascript:alert(1))",
    "![img](x.png)", "a `tick` b ``two`` c", "`", "line\nnext\r\n# h\t|x|",
    "&amp; &#60; *em* _em_ **b** ~~s~~ \\ end\\", "\xff\xfe bad \xc3\x28 utf8",
    "bidi \xe2\x80\xae evil \xe2\x81\xa6", "===", " lead and trail ",
};

static char *
random_name(unsigned *seed)
{
    size_t n = 1 + (*seed = *seed * 1103515245u + 12345u) % 40;
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        s[i] = (char)(1 + (*seed >> 16) % 255);
    }
    s[n] = '\0';
    return s;
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: md_names OUT.md\n");
        return 2;
    }
    char *names[NNAMES];
    unsigned seed = 2024;
    size_t nf = sizeof(fixed) / sizeof(fixed[0]);
    for (size_t i = 0; i < NNAMES - 1; i++)
        names[i] = i < nf ? strdup(fixed[i]) : random_name(&seed);
    names[NNAMES - 1] = malloc(301);        /* longer than md.c shows */
    memset(names[NNAMES - 1], 'x', 300);
    memcpy(names[NNAMES - 1] + 196, "\xc3\xa9\xc3\xa9", 4);
    names[NNAMES - 1][300] = '\0';

    static ms_report_t r;
    static ms_rframe_t frames[NNAMES];
    static ms_rsite_t sites[NNAMES];
    static ms_rthread_t threads[NNAMES];
    static ms_rtask_t tasks[NNAMES];
    static ms_rvar_t vars[NNAMES];
    static ms_rowner_t owners[NNAMES];
    static uint64_t frame_idx[NNAMES];
    r.program = names[0];
    r.mode = "exact";
    r.trigger = "exit";
    r.byte_basis = "requested";
    r.rss = r.peak_rss = r.je_allocated = r.je_active = -1;
    r.je_resident = r.je_mapped = r.je_retained = -1;
    for (uint64_t i = 0; i < NNAMES; i++) {
        frames[i] = (ms_rframe_t){ .addr = 0x1000 + i, .func = names[i],
            .file = names[i], .module = "/bin/prog", .line = 1 };
        frame_idx[i] = i;
        sites[i] = (ms_rsite_t){ .id = i + 1, .depth = 1, .frames = &frame_idx[i],
            .allocs = 1, .bytes = 100 + i, .live_blocks = 1, .live_bytes = 100 + i };
        threads[i] = (ms_rthread_t){ .id = i + 1, .tid = 100 + (int64_t)i,
            .name = names[i], .allocs = 1 };
        tasks[i] = (ms_rtask_t){ .id = i + 1, .parent = i, .name = names[i],
            .ended = 1, .end_ns = 1000 };
        owners[i] = (ms_rowner_t){ .owner = names[i], .t_ns = 5 };
        vars[i] = (ms_rvar_t){ .id = i + 1, .address = 0x5000 + i,
            .name = names[i], .type = "char *", .file = "f.c", .func = "fn",
            .line = 3, .size = 8, .status = "leaked", .site = i + 1,
            .nowners = 1, .owners = &owners[i] };
        r.live_blocks++;
        r.live_bytes += 100 + (int64_t)i;
    }
    static uint64_t free_at[1] = { 0 }, alloc_at[1] = { 1 };
    static ms_rherr_t herr = { .kind = "double_free", .alloc_kind = "malloc",
        .free_kind = "free", .address = 0xdead0, .block = 0xdead0,
        .size = 64, .thread = 1, .t_ns = 1500000, .nfree_frames = 1,
        .nalloc_frames = 1, .free_frames = free_at, .alloc_frames = alloc_at };
    r.heap_errors = &herr, r.nheap_errors = 1;
    r.frames = frames, r.nframes = NNAMES;
    r.sites = sites, r.nsites = NNAMES;
    r.threads = threads, r.nthreads = NNAMES;
    r.tasks = tasks, r.ntasks = NNAMES;
    r.vars = vars, r.nvars = NNAMES;

    ms_writer_t *w = malloc(sizeof(*w));
    if (w == NULL || ms_writer_open(w, argv[1], 0644) != 0) {
        perror(argv[1]);
        return 1;
    }
    ms_md_write(w, &r);
    if (ms_writer_close(w) != 0) {
        perror(argv[1]);
        return 1;
    }
    for (int i = 0; i < NNAMES; i++) {
        for (const unsigned char *p = (const unsigned char *)names[i]; *p; p++)
            printf("%02x", *p);
        putchar('\n');
        free(names[i]);
    }
    free(w);
    return 0;
}
