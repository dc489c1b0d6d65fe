/*
 * text_names.c - the text writer (exporters/text.c) on a report whose
 * names would break a terminal: escape sequences and other control
 * characters, invalid UTF-8, wide (CJK) characters, a name of 3000 bytes,
 * long C++ names with parameter and template lists, and random bytes; one
 * site per name, each its own frame, a heap error between two of them.
 * Built by tests/integration/report_text.sh with text.c, report.c and
 * writer.c (their tool build: plain malloc):
 *
 *   text_names WIDTH...
 *
 * writes the report once per width to standard output, each copy after a
 * line "=== WIDTH".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../exporters/export.h"
#include "../../exporters/report.h"
#include "../../exporters/writer.h"

#define NNAMES 16

static const char *fixed[] = {
    "\x1b[2J\x1b[31mred\x1b]0;title\x07", "tab\there\rcr\nnl\x7f\x9b",
    "\xff\xfe bad \xc3\x28 utf8 \xe2\x82", "\xe5\xad\x97\xe5\xad\x97\xe5\xad\x97"
    "\xe5\xad\x97\xe5\xad\x97\xe5\xad\x97\xe5\xad\x97\xe5\xad\x97\xe5\xad\x97"
    "\xe5\xad\x97\xe5\xad\x97\xe5\xad\x97\xe5\xad\x97\xe5\xad\x97\xe5\xad\x97"
    "\xe5\xad\x97\xe5\xad\x97\xe5\xad\x97\xe5\xad\x97\xe5\xad\x97\xe5\xad\x97"
    "\xe5\xad\x97\xe5\xad\x97\xe5\xad\x97\xe5\xad\x97\xe5\xad\x97\xe5\xad\x97",
    "std::_Rb_tree_iterator<std::pair<std::__cxx11::basic_string<char, "
    "std::char_traits<char>, std::allocator<char> > const, int> > "
    "std::_Rb_tree<std::__cxx11::basic_string<char>, std::pair<int, int>, "
    "std::_Select1st<std::pair<int, int> >, std::less<int>, "
    "std::allocator<std::pair<int, int> > >::_M_emplace_hint_unique<"
    "std::piecewise_construct_t const&>(std::_Rb_tree_const_iterator<"
    "std::pair<int, int> >, std::piecewise_construct_t const&, "
    "std::tuple<int const&>&&, std::tuple<>&&) const",
    "ns::f(((((((((((((", "g<<<<<<<<<<>", ")))))", "",
};

int
main(int argc, char **argv)
{
    char *names[NNAMES];
    unsigned seed = 77;
    size_t nf = sizeof(fixed) / sizeof(fixed[0]);
    for (size_t i = 0; i < NNAMES - 1; i++) {
        if (i < nf) {
            names[i] = strdup(fixed[i]);
            continue;
        }
        size_t n = 1 + (seed = seed * 1103515245u + 12345u) % 120;
        names[i] = malloc(n + 1);
        for (size_t k = 0; k < n; k++) {
            seed = seed * 1103515245u + 12345u;
            names[i][k] = (char)(1 + (seed >> 16) % 255);
        }
        names[i][n] = '\0';
    }
    names[NNAMES - 1] = malloc(3001);
    memset(names[NNAMES - 1], 'y', 3000);
    names[NNAMES - 1][3000] = '\0';

    static ms_report_t r;
    static ms_rframe_t frames[NNAMES];
    static ms_rsite_t sites[NNAMES];
    static uint64_t idx[NNAMES];
    r.program = names[0];
    r.mode = "exact";
    r.trigger = "exit";
    r.byte_basis = "requested";
    r.pid = 4242;
    r.rss = r.peak_rss = -1;
    r.leak_checked = 1;
    for (uint64_t i = 0; i < NNAMES; i++) {
        frames[i] = (ms_rframe_t){ .addr = 0x1000 + i, .func = names[i],
            .file = names[(i + 3) % NNAMES], .module = names[(i + 5) % NNAMES],
            .line = (int64_t)i * 1000003, .flags = i % 3 ? 0 : MS_RFRAME_INLINED };
        idx[i] = i;
        sites[i] = (ms_rsite_t){ .id = i + 1, .depth = 1, .frames = &idx[i],
            .allocs = 1000 + i, .bytes = 123456789 * (i + 1), .live_blocks = i,
            .live_bytes = 1000 * i, .temporaries = i };
        sites[i].leak_blocks[i % MS_LEAK_CLASSES] = i;
        sites[i].leak_bytes[i % MS_LEAK_CLASSES] = 1000 * i;
        r.live_blocks += (int64_t)i;
        r.live_bytes += 1000 * (int64_t)i;
        r.leak_blocks[i % MS_LEAK_CLASSES] += i;
        r.leak_bytes[i % MS_LEAK_CLASSES] += 1000 * i;
    }
    static uint64_t free_at[1] = { 0 }, alloc_at[1] = { 4 };
    static ms_rherr_t herr = { .kind = "double_free\x1b[0m", .alloc_kind =
        "malloc", .free_kind = "free", .address = 0xdead0, .block = 0xdead0,
        .size = 64, .thread = 1, .t_ns = 1500000, .nfree_frames = 1,
        .nalloc_frames = 1, .free_frames = free_at, .alloc_frames = alloc_at };
    r.heap_errors = &herr, r.nheap_errors = 1;
    r.frames = frames, r.nframes = NNAMES;
    r.sites = sites, r.nsites = NNAMES;

    static ms_writer_t w;
    for (int a = 1; a < argc; a++) {
        int width = atoi(argv[a]);
        printf("=== %d\n", width);
        fflush(stdout);
        memset(&w, 0, offsetof(ms_writer_t, buf));
        w.fd = STDOUT_FILENO;
        ms_text_write_width(&w, &r, width);
        if (w.len > 0 && write(1, w.buf, w.len) != (ssize_t)w.len)
            return 1;
    }
    for (int i = 0; i < NNAMES; i++)
        free(names[i]);
    return 0;
}
