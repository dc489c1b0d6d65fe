/*
 * pprof_inline.c - a report whose one stack holds an inlined frame, written
 * as a pprof profile, for tests/integration/pprof.sh: the report's frames
 * are leaf_fn (inlined into mid_fn, at the same address), mid_fn and
 * outer_fn, in /opt/demo/libdemo.so (build ID 00112233445566778899aabb),
 * loaded at 0x7f0000000000. The profile must hold two locations: one with
 * the lines leaf_fn:10 then mid_fn:20, one with outer_fn:30.
 *
 * Usage: pprof_inline OUT.pb.gz
 */
#include <stdio.h>
#include <string.h>

#include "../../exporters/export.h"

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: pprof_inline OUT.pb.gz\n");
        return 2;
    }
    char lib[] = "/opt/demo/libdemo.so", bid[] = "00112233445566778899aabb";
    char leaf[] = "leaf_fn", mid[] = "mid_fn", outer[] = "outer_fn";
    char src[] = "demo.c";
    ms_rframe_t frames[3] = {
        { 0x7f0000001235, 0x1234, leaf, src, lib, 10, bid, MS_RFRAME_INLINED },
        { 0x7f0000001235, 0x1234, mid, src, lib, 20, bid, 0 },
        { 0x7f0000002346, 0x2345, outer, src, lib, 30, bid, 0 },
    };
    uint64_t stack[3] = { 0, 1, 2 };
    ms_rsite_t site = { .id = 1, .depth = 3, .frames = stack, .allocs = 4,
        .bytes = 4096, .live_blocks = 2, .live_bytes = 2048 };
    char program[] = "pprof_inline", mode[] = "exact", trigger[] = "api",
        basis[] = "requested";
    ms_report_t r;
    memset(&r, 0, sizeof(r));
    r.program = program;
    r.mode = mode;
    r.trigger = trigger;
    r.byte_basis = basis;
    r.frames = frames;
    r.nframes = 3;
    r.sites = &site;
    r.nsites = 1;
    ms_writer_t w;
    int rc = ms_writer_open(&w, argv[1], 0644);
    if (rc == 0) {
        ms_pprof_write(&w, &r);
        rc = ms_writer_close(&w);
    }
    if (rc != 0) {
        fprintf(stderr, "pprof_inline: cannot write %s: %s\n", argv[1],
            strerror(-rc));
        return 1;
    }
    return 0;
}
