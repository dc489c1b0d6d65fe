/*
 * md.h - the markdown summary (md.c) as text in memory, for the HTML
 * report, which shows it rendered.
 */
#ifndef MS_MD_H
#define MS_MD_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"

/* The markdown summary of r, NUL-terminated, in memory from ms_xmalloc
 * (free it with ms_xfree); its length in *len. NULL when out of memory. */
char *ms_md_render(const ms_report_t *r, size_t *len);

#endif
