/*
 * bin_read.h - the binary report format (docs/format.md): its constants,
 * shared by the writer (bin.c) and the reader (cli/bin_read.c, which only
 * the memscope tool links), and the reader.
 */
#ifndef MS_BIN_READ_H
#define MS_BIN_READ_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"

#define MS_BIN_MAGIC        "\x89MSB\r\n\x1a\n"
#define MS_BIN_MAGIC_LEN    8
#define MS_BIN_VERSION      2       /* written; 1 is read too */
#define MS_BIN_HEADER_LEN   24      /* magic, version, flags, count, length */
#define MS_BIN_SECTION_LEN  12      /* tag, payload length */
#define MS_BIN_TRAILER_LEN  8       /* XXH3_64bits of everything before it */

/* The required sections of version 1, in file order, four bytes each. */
#define MS_BIN_TAGS "STRSHEADSUMMALOCHISTTHRDTASKVARSFRMSSITEHERRTIME"
enum {
    MS_BIN_STRS, MS_BIN_HEAD, MS_BIN_SUMM, MS_BIN_ALOC, MS_BIN_HIST,
    MS_BIN_THRD, MS_BIN_TASK, MS_BIN_VARS, MS_BIN_FRMS, MS_BIN_SITE,
    MS_BIN_HERR, MS_BIN_TIME, MS_BIN_NSECTIONS
};

/* The optional section of allocation and release kinds: written right
 * after SUMM; a report without one has all kinds 0. */
#define MS_BIN_KIND_TAG "kind"

/* The optional section of leak classes: written last, after TIME; a report
 * without one has its classes not measured. */
#define MS_BIN_LEAK_TAG "leak"

/* The optional section of the sites' rows (by thread and task): written
 * after the leak section; a report without one has no rows. */
#define MS_BIN_ROWS_TAG "rows"

/* Reads a whole binary report from buf. Returns 0 and a new report in *out
 * (free it with ms_report_free), or -1 with a one-line message in err (no
 * newline) and *out NULL; nothing is left allocated on error. Every length,
 * count and index is checked against the input, and what it allocates is
 * bounded by a small multiple of len, whatever the input holds. */
int ms_bin_read(const void *buf, size_t len, ms_report_t **out, char *err,
    size_t errlen);

typedef struct {
    char tag[5];            /* NUL-terminated; non-printable bytes as '?' */
    uint64_t offset;        /* of the payload, from the start of the file */
    uint64_t length;        /* of the payload */
} ms_bin_section_t;

/* The section table of a buffer ms_bin_read accepted: fills up to max
 * entries and returns how many sections the file has. */
size_t ms_bin_sections(const void *buf, size_t len, ms_bin_section_t *out,
    size_t max);

/* The checksum stored in a buffer ms_bin_read accepted. */
uint64_t ms_bin_checksum(const void *buf, size_t len);

#endif
