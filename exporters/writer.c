/*
 * writer.c - see writer.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "writer.h"
#include "xalloc.h"

int
ms_writer_open(ms_writer_t *w, const char *path, int mode)
{
    memset(w, 0, offsetof(ms_writer_t, buf));
    w->fd = -1;
    size_t n = strlen(path);
    w->path = ms_xstrdup(path);
    w->tmp = ms_xmalloc(n + 32);
    if (w->path == NULL || w->tmp == NULL) {
        ms_xfree(w->path);
        ms_xfree(w->tmp);
        return -ENOMEM;
    }
    snprintf(w->tmp, n + 32, "%s.tmp.%d", path, (int)getpid());
    unlink(w->tmp);     /* a stale one of ours; never follows a link */
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
        mode);
    if (w->fd < 0) {
        int e = errno;
        ms_xfree(w->path);
        ms_xfree(w->tmp);
        w->path = w->tmp = NULL;
        return -e;
    }
    fchmod(w->fd, (mode_t)mode);    /* exact mode, whatever the umask */
    return 0;
}

/* Keeps what is in buf in memory, NUL-terminated; ENOMEM when it can't. */
static void
flush_mem(ms_writer_t *w)
{
    if (w->err == 0 && w->mem_len + w->len + 1 > w->mem_cap) {
        size_t cap = w->mem_cap ? w->mem_cap : 16384;
        while (cap < w->mem_len + w->len + 1)
            cap *= 2;
        char *m = ms_xrealloc(w->mem, cap);
        if (m == NULL)
            w->err = ENOMEM;
        else {
            w->mem = m;
            w->mem_cap = cap;
        }
    }
    if (w->err == 0) {
        memcpy(w->mem + w->mem_len, w->buf, w->len);
        w->mem_len += w->len;
        w->mem[w->mem_len] = '\0';
    }
    w->len = 0;
}

static void
flush(ms_writer_t *w)
{
    if (w->in_memory) {
        flush_mem(w);
        return;
    }
    size_t off = 0;
    while (off < w->len && w->err == 0) {
        ssize_t n = write(w->fd, w->buf + off, w->len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            w->err = errno;
        } else {
            off += (size_t)n;
        }
    }
    w->len = 0;
}

void
ms_writer_open_mem(ms_writer_t *w)
{
    memset(w, 0, offsetof(ms_writer_t, buf));
    w->fd = -1;
    w->in_memory = 1;
}

char *
ms_writer_take(ms_writer_t *w, size_t *len)
{
    flush(w);
    char *m = w->mem;
    if (w->err == 0 && m == NULL)
        m = ms_xcalloc(1);
    if (w->err != 0 || m == NULL) {
        ms_xfree(w->mem);
        m = NULL;
    } else {
        *len = w->mem_len;
    }
    w->mem = NULL;
    w->mem_len = w->mem_cap = 0;
    return m;
}

int
ms_writer_close(ms_writer_t *w)
{
    flush(w);
    if (w->err == 0 && close(w->fd) != 0)
        w->err = errno;
    else if (w->err != 0)
        close(w->fd);
    w->fd = -1;
    if (w->err == 0 && rename(w->tmp, w->path) != 0)
        w->err = errno;
    int e = w->err;
    if (e != 0)
        unlink(w->tmp);
    ms_xfree(w->path);
    ms_xfree(w->tmp);
    w->path = w->tmp = NULL;
    return -e;
}

void
ms_w_bytes_spill(ms_writer_t *w, const void *p, size_t n)
{
    const char *s = p;
    w->written += n;
    while (n > 0) {
        size_t room = sizeof(w->buf) - w->len;
        size_t k = n < room ? n : room;
        memcpy(w->buf + w->len, s, k);
        w->len += k;
        s += k;
        n -= k;
        if (w->len == sizeof(w->buf))
            flush(w);
    }
}

void
ms_w_fmt(ms_writer_t *w, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        ms_w_bytes(w, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* The decimal digits of v, ending at end (ms_u64_digits(v) of them). */
static inline void
put_digits(char *end, uint64_t v)
{
    static const char two[] =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";
    char *p = end;
    while (v > UINT32_MAX) {    /* two digits at a time */
        p -= 2;
        memcpy(p, two + 2 * (v % 100), 2);
        v /= 100;
    }
    uint32_t u = (uint32_t)v;   /* cheaper to divide */
    while (u >= 100) {
        p -= 2;
        memcpy(p, two + 2 * (u % 100), 2);
        u /= 100;
    }
    if (u >= 10) {
        p -= 2;
        memcpy(p, two + 2 * u, 2);
    } else {
        *--p = (char)('0' + u);
    }
}

void
ms_w_u64_any(ms_writer_t *w, uint64_t v)
{
    size_t d = ms_u64_digits(v);
    if (d < sizeof(w->buf) - w->len) {
        put_digits(w->buf + w->len + d, v);
        w->len += d;
        w->written += d;
    } else {
        char tmp[24];
        put_digits(tmp + d, v);
        ms_w_bytes(w, tmp, d);
    }
}

void
ms_w_u64_seq(ms_writer_t *w, const uint64_t *v, uint64_t n, uint64_t limit)
{
    /* the position kept in a local: the digits' stores could alias it */
    size_t len = w->len, start = len;
    int nulls = limit != UINT64_MAX;   /* else UINT64_MAX is a number too */
    for (uint64_t k = 0; k < n; k++) {
        uint64_t x = v[k];
        int number = !nulls || x < limit;
        /* a comma and the longest number fit: straight into the buffer */
        if (MS_W_LIKELY(sizeof(w->buf) - len > 24) && number) {
            size_t c = k != 0, d = ms_u64_digits(x);
            w->buf[len] = ',';
            put_digits(w->buf + len + c + d, x);
            len += c + d;
            continue;
        }
        w->written += len - start;
        w->len = len;
        if (k)
            ms_w_bytes(w, ",", 1);
        if (number)
            ms_w_u64_any(w, x);
        else
            ms_w_str(w, "null");
        len = start = w->len;
    }
    w->written += len - start;
    w->len = len;
}

void
ms_w_u64_list(ms_writer_t *w, const uint64_t *v, uint64_t n, uint64_t limit)
{
    ms_w_bytes(w, "[", 1);
    ms_w_u64_seq(w, v, n, limit);
    ms_w_bytes(w, "]", 1);
}

void
ms_w_i64(ms_writer_t *w, int64_t v)
{
    if (v < 0) {
        ms_w_bytes(w, "-", 1);
        ms_w_u64(w, (uint64_t)0 - (uint64_t)v);
    } else {
        ms_w_u64(w, (uint64_t)v);
    }
}

void
ms_w_dbl(ms_writer_t *w, double v)
{
    if (v != v || v > 1e300 || v < -1e300) {
        ms_w_str(w, "null");
        return;
    }
    ms_w_fmt(w, "%.17g", v);
}

size_t
ms_utf8_decode(const unsigned char *s, uint32_t *cp)
{
    size_t n;
    uint32_t c;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0) { n = 2; c = s[0] & 0x1F; }
    else if ((s[0] & 0xF0) == 0xE0) { n = 3; c = s[0] & 0x0F; }
    else if ((s[0] & 0xF8) == 0xF0) { n = 4; c = s[0] & 0x07; }
    else return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) ||
        (n == 4 && (c < 0x10000 || c > 0x10FFFF)) ||
        (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

void
ms_w_jstr(ms_writer_t *w, const char *str)
{
    if (str == NULL) {
        ms_w_str(w, "null");
        return;
    }
    const unsigned char *s = (const unsigned char *)str;
    ms_w_bytes(w, "\"", 1);
    while (*s) {
        /* a run of printable ASCII that needs no escape, in one copy */
        const unsigned char *run = s;
        while (*s >= 0x20 && *s < 0x7F && *s != '"' && *s != '\\' &&
               *s != '<' && *s != '>' && *s != '&')
            s++;
        if (s > run)
            ms_w_bytes(w, run, (size_t)(s - run));
        if (*s == '\0')
            break;
        unsigned char c = *s;
        if (c == '"' || c == '\\') {
            char e[2] = { '\\', (char)c };
            ms_w_bytes(w, e, 2);
            s++;
        } else if (c < 0x20 || c == 0x7F) {
            switch (c) {
            case '\n': ms_w_str(w, "\\n"); break;
            case '\r': ms_w_str(w, "\\r"); break;
            case '\t': ms_w_str(w, "\\t"); break;
            default: ms_w_fmt(w, "\\u%04x", c); break;
            }
            s++;
        } else if (c == '<' || c == '>' || c == '&') {
            /* safe to embed in an HTML <script> block as well */
            ms_w_fmt(w, "\\u%04x", c);
            s++;
        } else {
            uint32_t cp;
            size_t n = ms_utf8_decode(s, &cp);
            if (n == 0) {
                ms_w_str(w, "\\ufffd");
                s++;
            } else {
                ms_w_bytes(w, s, n);
                s += n;
            }
        }
    }
    ms_w_bytes(w, "\"", 1);
}

void
ms_w_html(ms_writer_t *w, const char *str)
{
    if (str == NULL)
        return;
    for (const char *s = str; *s; s++) {
        switch (*s) {
        case '<': ms_w_str(w, "&lt;"); break;
        case '>': ms_w_str(w, "&gt;"); break;
        case '&': ms_w_str(w, "&amp;"); break;
        case '"': ms_w_str(w, "&quot;"); break;
        case '\'': ms_w_str(w, "&#39;"); break;
        default: ms_w_bytes(w, s, 1); break;
        }
    }
}

int
ms_mkdir_p(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(path))
        return -ENAMETOOLONG;
    memcpy(path, dir, n + 1);
    for (char *p = path + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(path, 0755) != 0 && errno != EEXIST)
                return -errno;
            *p = c;
            if (c == '\0')
                break;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

void
ms_w_jkey(ms_writer_t *w, const char *k, int *first)
{
    if (first == NULL || !*first)
        ms_w_str(w, ",");
    if (first != NULL)
        *first = 0;
    ms_w_jstr(w, k);
    ms_w_str(w, ":");
}

void
ms_w_jarray(ms_writer_t *w, uint64_t n,
    void (*item)(ms_writer_t *w, uint64_t i, const void *arg), const void *arg)
{
    ms_w_str(w, "[");
    for (uint64_t i = 0; i < n; i++) {
        if (i)
            ms_w_str(w, ",");
        item(w, i, arg);
    }
    ms_w_str(w, "]");
}

void
ms_w_jcounts(ms_writer_t *w, const uint64_t *v, int n,
    const char *(*name)(unsigned))
{
    int first = 1;
    ms_w_str(w, "{");
    for (int k = 0; k < n; k++) {
        ms_w_jkey(w, name((unsigned)k), &first);
        ms_w_u64(w, v[k]);
    }
    ms_w_str(w, "}");
}

void
ms_w_jclasses(ms_writer_t *w, int checked, const uint64_t *blocks,
    const uint64_t *bytes, unsigned n, const char *(*name)(unsigned))
{
    if (!checked) {
        ms_w_str(w, "null");
        return;
    }
    for (unsigned c = 0; c < n; c++) {
        ms_w_str(w, c ? "," : name ? "{" : "[");
        /* numbers written directly: once per site, printf's cost shows */
        if (name != NULL) {
            ms_w_jstr(w, name(c));
            ms_w_str(w, ":{\"blocks\":");
        } else {
            ms_w_str(w, "[");
        }
        ms_w_u64(w, blocks[c]);
        ms_w_str(w, name != NULL ? ",\"bytes\":" : ",");
        ms_w_u64(w, bytes[c]);
        ms_w_str(w, name != NULL ? "}" : "]");
    }
    ms_w_str(w, n == 0 ? (name ? "{}" : "[]") : name ? "}" : "]");
}
