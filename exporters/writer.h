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
#define MS_W_LIKELY(x) __builtin_expect(!!(x), 1)

/* The number of decimal digits of v (1 for 0). */
static inline size_t
ms_u64_digits(uint64_t v)
{
    static const uint64_t pow10[20] = { 1ull, 10ull, 100ull, 1000ull,
        10000ull, 100000ull, 1000000ull, 10000000ull, 100000000ull,
        1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
        10000000000000ull, 100000000000000ull, 1000000000000000ull,
        10000000000000000ull, 100000000000000000ull, 1000000000000000000ull,
        10000000000000000000ull };
    /* log10 from log2: bits * 1233 / 4096 is floor(log10(2^bits)) for
     * bits <= 64; one compare corrects it */
    size_t l = (size_t)(64 - __builtin_clzll(v | 1)) * 1233 >> 12;
    return l + (v >= pow10[l]) + (v == 0);
}

/* v in decimal; ms_w_u64's general case. */
void ms_w_u64_any(ms_writer_t *w, uint64_t v);

/* Inline for the small numbers most are (counts, indices): one digit
 * written in place, the rest out of line. */
static inline void
ms_w_u64(ms_writer_t *w, uint64_t v)
{
    if (MS_W_LIKELY(v < 10 && w->len + 1 < sizeof(w->buf))) {
        w->buf[w->len++] = (char)('0' + v);
        w->written++;
        return;
    }
    ms_w_u64_any(w, v);
}

/* ms_w_jkey of a key that needs no escape, as ,"k": in q (n bytes): the
 * comma is left out when *first (which is then cleared). */
static inline void
ms_w_jkey_lit(ms_writer_t *w, const char *q, size_t n, int *first)
{
    if (first != NULL && *first) {
        *first = 0;
        ms_w_bytes(w, q + 1, n - 1);
    } else {
        ms_w_bytes(w, q, n);
    }
}

/* [v0,v1,...] of n numbers; a value >= limit is written as null (a frame
 * index with no frame), none when limit is UINT64_MAX (no limit). */
void ms_w_u64_list(ms_writer_t *w, const uint64_t *v, uint64_t n,
    uint64_t limit);
/* The same without the brackets. */
void ms_w_u64_seq(ms_writer_t *w, const uint64_t *v, uint64_t n,
    uint64_t limit);
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
