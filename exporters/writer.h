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
#include <string.h>

typedef struct {
    int fd;
    int err;                /* first errno seen, sticky */
    size_t len;
    char *path, *tmp;
    uint64_t written;       /* bytes written so far, whatever the target */
    int in_memory;          /* ms_writer_open_mem: into mem, not a file */
    char *mem;
    size_t mem_len, mem_cap;
    char buf[65536];
} ms_writer_t;

/* Opens path.tmp for writing; 0 or a negative errno. */
int ms_writer_open(ms_writer_t *w, const char *path, int mode);
/* Flushes, closes and renames into place; 0 or a negative errno (on error
 * the temporary file is removed and nothing appears at path). */
int ms_writer_close(ms_writer_t *w);
/* Opens w onto memory: what is written collects in a buffer from
 * ms_xmalloc, for ms_writer_take. */
void ms_writer_open_mem(ms_writer_t *w);
/* Ends a writer opened onto memory: returns what was written,
 * NUL-terminated (free it with ms_xfree), its length in *len; NULL when
 * memory ran out on the way. */
char *ms_writer_take(ms_writer_t *w, size_t *len);

/* What ms_w_bytes does when buf has no room left for p. */
void ms_w_bytes_spill(ms_writer_t *w, const void *p, size_t n);

/* Inline: exporters write millions of short pieces (a comma, a number). */
static inline void
ms_w_bytes(ms_writer_t *w, const void *p, size_t n)
{
    if (n < sizeof(w->buf) - w->len) {     /* room, and some left after */
        memcpy(w->buf + w->len, p, n);
        w->len += n;
        w->written += n;
        return;
    }
    ms_w_bytes_spill(w, p, n);
}

static inline void
ms_w_str(ms_writer_t *w, const char *s)
{
    ms_w_bytes(w, s, strlen(s));
}

void ms_w_fmt(ms_writer_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ms_w_u64(ms_writer_t *w, uint64_t v);
void ms_w_i64(ms_writer_t *w, int64_t v);
/* A double with enough digits to read back the same value. */
void ms_w_dbl(ms_writer_t *w, double v);
/* A JSON string literal (quotes included); NULL writes null. Bytes that are
 * not valid UTF-8 are written as U+FFFD. */
void ms_w_jstr(ms_writer_t *w, const char *s);
/* A JSON array of n items, item(w, i, arg) writing item i. */
void ms_w_jarray(ms_writer_t *w, uint64_t n,
    void (*item)(ms_writer_t *w, uint64_t i, const void *arg), const void *arg);
/* The length of the valid UTF-8 sequence at s, its code point in *cp; 0
 * when s holds none (overlong, surrogate, beyond U+10FFFF, cut short). */
size_t ms_utf8_decode(const unsigned char *s, uint32_t *cp);
/* A JSON object's key k and its colon, after a comma unless *first (which
 * it then clears); first NULL: never the first key. */
void ms_w_jkey(ms_writer_t *w, const char *k, int *first);
/* {"NAME":V,...}: n counts v, NAME = name(k); the JSON's and the
 * dashboard's counts by kind. */
void ms_w_jcounts(ms_writer_t *w, const uint64_t *v, int n,
    const char *(*name)(unsigned));
/* Blocks and bytes of n leak classes, the most severe first; null when
 * they were not measured (checked 0). With name, an object of
 * {"blocks":B,"bytes":N} by class name (the JSON); without, an array of
 * [B,N] (the dashboard's data). */
void ms_w_jclasses(ms_writer_t *w, int checked, const uint64_t *blocks,
    const uint64_t *bytes, unsigned n, const char *(*name)(unsigned));
/* Text escaped for HTML element content and attribute values. */
void ms_w_html(ms_writer_t *w, const char *s);

/* Makes a directory and its parents (mode 0755); 0 or a negative errno. */
int ms_mkdir_p(const char *dir);

#endif
