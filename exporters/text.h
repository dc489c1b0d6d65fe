/*
 * text.h - the text report's line layer (text.c), shared with the live
 * view (`memscope top`, cli/top.c): lines that never pass a width, names
 * from the traced program cut to fit and made safe for a terminal.
 */
#ifndef MS_TEXT_H
#define MS_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"
#include "writer.h"

typedef struct {
    ms_writer_t *w;
    const ms_report_t *r;   /* whose frames ms_text_frame names */
    int width;              /* columns, 40 to 1000 */
    int col;                /* columns written on the current line */
} ms_text_t;

/* s on the current line, cut with "..." where it would pass the width (or
 * max columns); control characters and bytes that are not UTF-8 as '?'. */
void ms_text_put(ms_text_t *t, const char *s);
void ms_text_put_max(ms_text_t *t, const char *s, int max);
void ms_text_putf(ms_text_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Ends the line. */
void ms_text_nl(ms_text_t *t);
/* Frame fi of t->r: its name (C++ lists abbreviated to fit) and
 * "file:line" or "(module)", in the rest of the line. */
void ms_text_frame(ms_text_t *t, uint64_t fi);
/* Bytes as the text report shows them: "N B" below 10 KiB, else "x.y
 * KiB", "MiB"...; the space between figure and unit is a byte (0x1f) that
 * ms_text_put writes as a space. */
const char *ms_text_bytes(char *buf, size_t len, uint64_t v);

#endif
