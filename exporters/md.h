/*
 * md.h - the markdown summary (md.c) as text in memory, for the HTML
 * report, which shows it rendered; and the frame choice both share.
 */
#ifndef MS_MD_H
#define MS_MD_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"

/* The markdown summary of r, NUL-terminated, in memory from ms_xmalloc
 * (free it with ms_xfree); its length in *len. NULL when out of memory. */
char *ms_md_render(const ms_report_t *r, size_t *len);

/* The index, within s->frames, of the site's first meaningful frame: the
 * first with a function name that is not an allocation wrapper (malloc,
 * operator new, std::allocator...); 0 when there is none. */
uint64_t ms_md_first_frame(const ms_report_t *r, const ms_rsite_t *s);
/* The same for any list of n frame indexes. */
uint64_t ms_md_first_of(const ms_report_t *r, const uint64_t *frames,
    uint64_t n);

#endif
