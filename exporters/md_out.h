/*
 * md_out.h - the markdown writer's output (md_out.c): a file through the
 * one writer, or a growable buffer in memory, plus what every section of
 * md.c writes through it: the traced program's strings made safe, and
 * figures in bytes, times and dates.
 */
#ifndef MS_MD_OUT_H
#define MS_MD_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"
#include "writer.h"

typedef struct {
    ms_writer_t *w;         /* a file, or memory (ms_writer_open_mem) */
    /* md.c's state while it writes */
    const ms_report_t *r;
    int sampled;
    int tasks_shown;
} ms_md_out_t;

/* A string from the traced program (up to 200 bytes shown, then "..."):
 * as escaped text (NULL or empty: `none`), as a code span followed by
 * suffix (ours, no backticks), or as a line of a fenced code block. */
void ms_md_text(ms_md_out_t *o, const char *s, const char *none);
void ms_md_code(ms_md_out_t *o, const char *s, const char *suffix);
void ms_md_raw(ms_md_out_t *o, const char *s);

/* "N B" and, from 1 KiB, " (x.y KiB)"; " (x.y KiB)" alone; -1: "not
 * measured"; a duration in ms or s; a UTC date and time. */
void ms_md_bytes(ms_md_out_t *o, uint64_t v);
void ms_md_human(ms_md_out_t *o, double v);
void ms_md_mbytes(ms_md_out_t *o, int64_t v);
void ms_md_duration(ms_md_out_t *o, uint64_t ns);
void ms_md_utc(ms_md_out_t *o, uint64_t unix_ns);

#endif
