/*
 * writer.h - the one writer under every exporter: a buffered file that
 * appears complete or not at all (a temporary name in the same directory,
 * renamed when done), created with O_NOFOLLOW and the configured mode, plus
 * helpers to write JSON and HTML text safely.
 */
#ifndef MS_WRITER_H
#define MS_WRITER_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int fd;
    int err;                /* first errno seen, sticky */
    size_t len;
    char *path, *tmp;
    uint64_t written;
    char buf[65536];
} ms_writer_t;

/* Opens path.tmp for writing; 0 or a negative errno. */
int ms_writer_open(ms_writer_t *w, const char *path, int mode);
/* Flushes, closes and renames into place; 0 or a negative errno (on error
 * the temporary file is removed and nothing appears at path). */
int ms_writer_close(ms_writer_t *w);
/* Removes the temporary file without publishing it. */
void ms_writer_abort(ms_writer_t *w);

void ms_w_bytes(ms_writer_t *w, const void *p, size_t n);
void ms_w_str(ms_writer_t *w, const char *s);
void ms_w_fmt(ms_writer_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ms_w_u64(ms_writer_t *w, uint64_t v);
void ms_w_i64(ms_writer_t *w, int64_t v);
/* A double with enough digits to read back the same value. */
void ms_w_dbl(ms_writer_t *w, double v);
/* A JSON string literal (quotes included); NULL writes null. Bytes that are
 * not valid UTF-8 are written as U+FFFD. */
void ms_w_jstr(ms_writer_t *w, const char *s);
/* Text escaped for HTML element content and attribute values. */
void ms_w_html(ms_writer_t *w, const char *s);

/* Makes a directory and its parents (mode 0755); 0 or a negative errno. */
int ms_mkdir_p(const char *dir);

#endif
