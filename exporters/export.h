/*
 * export.h - the report formats: one table of them (name, file extension,
 * bit, writer), shared by the library (tracer/export.c, options.c) and the
 * memscope tool (report, snapshot). A format is one writer over one
 * report, in a file of its own; adding one is adding its row in
 * formats.c and its MEMSCOPE_FORMAT_* bit in memscope.h.
 */
#ifndef MS_EXPORT_H
#define MS_EXPORT_H

#include <stddef.h>

#include "memscope.h"
#include "report.h"
#include "writer.h"

/* The writers: each writes r whole to w (errors stay in w). */
void ms_json_write(ms_writer_t *w, const ms_report_t *r);
void ms_bin_write(ms_writer_t *w, const ms_report_t *r);
void ms_md_write(ms_writer_t *w, const ms_report_t *r);
void ms_html_write(ms_writer_t *w, const ms_report_t *r);
/* The same page from r's markdown text md[0..len) (ms_md_render; NULL:
 * none, out of memory), for a writer of both that renders it once. */
void ms_html_write_md(ms_writer_t *w, const ms_report_t *r, const char *md,
    size_t len);
void ms_folded_write(ms_writer_t *w, const ms_report_t *r);
/* Folded stacks weighted by allocated bytes (the tool's --metric). */
void ms_folded_write_allocated(ms_writer_t *w, const ms_report_t *r);
/* Folded stacks weighted by lost bytes: definitely, indirectly and possibly
 * lost (--metric lost; nothing when the classes were not measured). */
void ms_folded_write_lost(ms_writer_t *w, const ms_report_t *r);
/* A gzipped pprof profile (profile.proto, docs/pprof.md): deflated with
 * zlib when it can be loaded, else in stored blocks; ms_pprof_write_gz
 * with stored set never uses zlib. ms_pprof_encode gives the profile unzipped, in a buffer from
 * ms_xmalloc: 0 or -ENOMEM. */
void ms_pprof_write(ms_writer_t *w, const ms_report_t *r);
void ms_pprof_write_gz(ms_writer_t *w, const ms_report_t *r, int stored);
int ms_pprof_encode(const ms_report_t *r, unsigned char **out, size_t *len);
/* The report for a terminal (docs/text.md), no line wider than width
 * columns (40 to 1000); ms_text_write: 80 columns. */
void ms_text_write(ms_writer_t *w, const ms_report_t *r);
void ms_text_write_width(ms_writer_t *w, const ms_report_t *r, int width);

typedef struct {
    const char *name;       /* in MEMSCOPE_FORMATS and --format */
    const char *ext;        /* of its file, without the dot */
    unsigned bit;           /* MEMSCOPE_FORMAT_* */
    void (*write)(ms_writer_t *w, const ms_report_t *r);
} ms_format_t;

/* Every format, in the order the library writes them (the first one the
 * library writes is the one `memscope snapshot` waits for). */
extern const ms_format_t ms_formats[];
extern const size_t ms_nformats;

/* What MEMSCOPE_FORMATS is when unset (no folded stacks). */
#define MS_FORMATS_DEFAULT (MEMSCOPE_FORMAT_BIN | MEMSCOPE_FORMAT_JSON | \
    MEMSCOPE_FORMAT_HTML | MEMSCOPE_FORMAT_MD)

/* Returns the format called name (any case), or NULL. */
const ms_format_t *ms_format_named(const char *name);

/* Parses MEMSCOPE_FORMATS: names separated by commas, "all" for every
 * format. Returns 0 and sets *bits, or -1 (*bits untouched) for an empty
 * list or a name no format has. Allocates nothing. */
int ms_formats_parse(const char *list, unsigned *bits);

/* The value `memscope top` sends with the snapshot signal (sigqueue): not
 * a numbered snapshot but the live view's, DIR/NAME.live.bin in the .bin
 * format only, replaced at each request (tracer/triggers.c). */
#define MS_SNAPSHOT_LIVE 0x6d73746f

/* The value `memscope snapshot --leaks` sends with the snapshot signal
 * (sigqueue): this snapshot classes the live blocks by reachability
 * (tracer/triggers.c). A plain signal asks for a snapshot without. */
#define MS_SNAPSHOT_LEAKS 0x6d736c6b

#endif
