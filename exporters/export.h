/*
 * export.h - writing reports: one function per format over one writer.
 */
#ifndef MS_EXPORT_H
#define MS_EXPORT_H

#include "report.h"
#include "writer.h"

/* One writer per format, each in its own file. Formats whose file is not
 * part of the build are weak and skipped. */
void ms_json_write(ms_writer_t *w, const ms_report_t *r);
void ms_bin_write(ms_writer_t *w, const ms_report_t *r) __attribute__((weak));
void ms_md_write(ms_writer_t *w, const ms_report_t *r) __attribute__((weak));
void ms_html_write(ms_writer_t *w, const ms_report_t *r) __attribute__((weak));
void ms_folded_write(ms_writer_t *w, const ms_report_t *r) __attribute__((weak));
/* Folded stacks weighted by allocated bytes (the tool's --metric). */
void ms_folded_write_allocated(ms_writer_t *w, const ms_report_t *r)
    __attribute__((weak));

#endif
