/*
 * formats.c - the table of report formats (export.h).
 */
#include <strings.h>
#include <string.h>

#include "export.h"

const ms_format_t ms_formats[] = {
    { "bin", "bin", MEMSCOPE_FORMAT_BIN, ms_bin_write },
    { "json", "json", MEMSCOPE_FORMAT_JSON, ms_json_write },
    { "md", "md", MEMSCOPE_FORMAT_MD, ms_md_write },
    { "html", "html", MEMSCOPE_FORMAT_HTML, ms_html_write },
    { "folded", "folded", MEMSCOPE_FORMAT_FOLDED, ms_folded_write },
    { "pprof", "pb.gz", MEMSCOPE_FORMAT_PPROF, ms_pprof_write },
    { "text", "txt", MEMSCOPE_FORMAT_TEXT, ms_text_write },
};
const size_t ms_nformats = sizeof(ms_formats) / sizeof(ms_formats[0]);

/* MEMSCOPE_FORMAT_ALL (memscope.h) names every row above. */
_Static_assert(MEMSCOPE_FORMAT_ALL == (MEMSCOPE_FORMAT_BIN |
    MEMSCOPE_FORMAT_JSON | MEMSCOPE_FORMAT_MD | MEMSCOPE_FORMAT_HTML |
    MEMSCOPE_FORMAT_FOLDED | MEMSCOPE_FORMAT_PPROF | MEMSCOPE_FORMAT_TEXT),
    "a format without its row, or a row without its bit");

static const ms_format_t *
named(const char *name, size_t len)
{
    for (size_t i = 0; i < ms_nformats; i++)
        if (strlen(ms_formats[i].name) == len &&
            strncasecmp(name, ms_formats[i].name, len) == 0)
            return &ms_formats[i];
    return NULL;
}

const ms_format_t *
ms_format_named(const char *name)
{
    return named(name, strlen(name));
}

int
ms_formats_parse(const char *list, unsigned *bits)
{
    unsigned b = 0;
    for (const char *v = list; *v; ) {
        size_t len = strcspn(v, ",");
        const ms_format_t *f = named(v, len);
        if (f != NULL)
            b |= f->bit;
        else if (len == 3 && strncasecmp(v, "all", 3) == 0)
            b |= MEMSCOPE_FORMAT_ALL;
        else
            return -1;
        v += len;
        if (*v == ',')
            v++;
    }
    if (b == 0)
        return -1;
    *bits = b;
    return 0;
}
