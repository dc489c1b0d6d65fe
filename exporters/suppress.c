/*
 * suppress.c - leak suppressions: LeakSanitizer's file of leak:PATTERN
 * lines (heaptrack reads the same), applied to a report's sites, in the
 * library (MEMSCOPE_SUPPRESSIONS) and in `memscope report --suppressions`
 * alike. report.h says what a pattern matches. Memory is the exporters'
 * (ms_xmalloc); the file is read with open/read, never stdio, since the
 * library must not call malloc here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "report.h"
#include "xalloc.h"

#define SUPP_MAX_FILE (1u << 20)
#define SUPP_MAX 10000

/* '*' matches any run, every other byte itself; the whole of s. */
int
ms_report_supp_match(const char *g, const char *s)
{
    const char *star = NULL, *resume = NULL;
    while (*s != '\0') {
        if (*g == '*') {
            star = g++;
            resume = s;
        } else if (*g != '\0' && *g == *s) {
            g++;
            s++;
        } else if (star != NULL) {
            g = star + 1;
            s = ++resume;
        } else {
            return 0;
        }
    }
    while (*g == '*')
        g++;
    return *g == '\0';
}

/* The glob of pattern p[0..n): '*' in front unless it starts with '^',
 * behind unless it ends with '$'. */
static char *
make_glob(const char *p, size_t n)
{
    size_t lead = n > 0 && p[0] == '^', trail = n > lead && p[n - 1] == '$';
    const char *core = p + lead;
    size_t len = n - lead - trail;
    char *g = ms_xmalloc(len + 3);
    if (g == NULL)
        return NULL;
    char *o = g;
    if (!lead)
        *o++ = '*';
    memcpy(o, core, len);
    o += len;
    if (!trail)
        *o++ = '*';
    *o = '\0';
    return g;
}

static int
fail(char *err, size_t errlen, const char *fmt, const char *path, unsigned line,
    const char *what)
{
    snprintf(err, errlen, fmt, path, line, what);
    return -1;
}

/* Parses buf (NUL-terminated) into r. */
static int
parse(ms_report_t *r, const char *path, char *buf, char *err, size_t errlen)
{
    unsigned line = 0;
    for (char *p = buf; *p != '\0';) {
        char *eol = strchr(p, '\n');
        char *next = eol ? eol + 1 : p + strlen(p);
        char *end = eol ? eol : next;
        line++;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t' ||
            end[-1] == '\r'))
            end--;
        if (p == end || *p == '#') {
            p = next;
            continue;
        }
        char *colon = memchr(p, ':', (size_t)(end - p));
        if (colon == NULL || colon == p)
            return fail(err, errlen, "%s:%u: not a suppression (TYPE:PATTERN, "
                "as leak:FUNCTION)%s", path, line, "");
        for (const char *t = p; t < colon; t++)
            if (!((*t >= 'a' && *t <= 'z') || *t == '_'))
                return fail(err, errlen, "%s:%u: '%s' is not a suppression "
                    "type (leak, or another sanitizer's)", path, line, "");
        if (colon - p != 4 || memcmp(p, "leak", 4) != 0) {
            p = next;           /* another sanitizer's: not ours */
            continue;
        }
        const char *pat = colon + 1;
        while (pat < end && (*pat == ' ' || *pat == '\t'))
            pat++;
        size_t n = (size_t)(end - pat);
        if (n == 0 || (n == 1 && (*pat == '^' || *pat == '$')) ||
            (n == 2 && pat[0] == '^' && pat[1] == '$'))
            return fail(err, errlen, "%s:%u: leak: with no pattern%s", path,
                line, "");
        if (memchr(pat, '\0', n) != NULL)
            return fail(err, errlen, "%s:%u: a NUL byte in the pattern%s",
                path, line, "");
        if (r->nsupps == SUPP_MAX)
            return fail(err, errlen, "%s:%u: more than 10000 suppressions%s",
                path, line, "");
        ms_rsupp_t *grown = ms_xrealloc(r->supps,
            (r->nsupps + 1) * sizeof(*r->supps));
        if (grown == NULL)
            return fail(err, errlen, "%s:%u: out of memory%s", path, line, "");
        r->supps = grown;
        ms_rsupp_t *x = &r->supps[r->nsupps];
        memset(x, 0, sizeof(*x));
        x->pattern = ms_xmalloc(n + 1);
        x->glob = make_glob(pat, n);
        if (x->pattern == NULL || x->glob == NULL) {
            ms_xfree(x->pattern);
            ms_xfree(x->glob);
            return fail(err, errlen, "%s:%u: out of memory%s", path, line, "");
        }
        memcpy(x->pattern, pat, n);
        x->pattern[n] = '\0';
        r->nsupps++;
        p = next;
    }
    return 0;
}

int
ms_report_supp_load(ms_report_t *r, const char *path, char *err,
    size_t errlen)
{
    ms_report_supp_free(r);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(err, errlen, "cannot read suppressions '%s'%.0u: %s", path,
            0, strerror(errno));
    char *buf = ms_xmalloc(SUPP_MAX_FILE + 1);
    size_t len = 0;
    int rc = 0;
    while (buf != NULL && len <= SUPP_MAX_FILE) {
        ssize_t k = read(fd, buf + len, SUPP_MAX_FILE + 1 - len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            rc = fail(err, errlen, "cannot read suppressions '%s'%.0u: %s",
                path, 0, strerror(errno));
            break;
        }
        if (k == 0)
            break;
        len += (size_t)k;
    }
    close(fd);
    if (buf == NULL)
        return fail(err, errlen, "suppressions '%s'%.0u: %s", path, 0,
            "out of memory");
    if (rc == 0 && len > SUPP_MAX_FILE)
        rc = fail(err, errlen, "suppressions '%s'%.0u: %s", path, 0,
            "over 1 MiB: not a suppression file");
    if (rc == 0) {
        buf[len] = '\0';
        if (memchr(buf, '\0', len) != NULL)
            rc = fail(err, errlen, "suppressions '%s'%.0u: %s", path, 0,
                "a NUL byte: not a text file");
        else
            rc = parse(r, path, buf, err, errlen);
    }
    ms_xfree(buf);
    if (rc == 0 && (r->supp_file = ms_xstrdup(path)) == NULL)
        rc = fail(err, errlen, "suppressions '%s'%.0u: %s", path, 0,
            "out of memory");
    if (rc != 0)
        ms_report_supp_free(r);
    return rc;
}

/* The first suppression matching a frame of site s, or -1. */
static int64_t
site_match(const ms_report_t *r, const ms_rsite_t *s)
{
    for (uint64_t k = 0; k < r->nsupps; k++)
        for (uint64_t d = 0; d < s->depth; d++) {
            if (s->frames[d] >= r->nframes)
                continue;
            const ms_rframe_t *f = &r->frames[s->frames[d]];
            const char *g = r->supps[k].glob;
            if ((f->func && ms_report_supp_match(g, f->func)) ||
                (f->file && ms_report_supp_match(g, f->file)) ||
                (f->module && ms_report_supp_match(g, f->module)))
                return (int64_t)k;
        }
    return -1;
}

void
ms_report_suppress(ms_report_t *r)
{
    r->supp_sites = r->supp_blocks = r->supp_bytes = 0;
    memset(r->supp_leak_blocks, 0, sizeof(r->supp_leak_blocks));
    memset(r->supp_leak_bytes, 0, sizeof(r->supp_leak_bytes));
    for (uint64_t k = 0; k < r->nsupps; k++)
        r->supps[k].sites = r->supps[k].blocks = r->supps[k].bytes = 0;
    for (uint64_t i = 0; i < r->nsites; i++) {
        ms_rsite_t *s = &r->sites[i];
        s->suppressed = 0;
        ms_site_figs_t f;
        ms_report_site_figs(r, s, &f);
        if (r->nsupps == 0 || f.live_blocks == 0)
            continue;
        int64_t k = site_match(r, s);
        if (k < 0)
            continue;
        s->suppressed = 1;
        ms_rsupp_t *x = &r->supps[k];
        x->sites++;
        x->blocks += f.live_blocks;
        x->bytes += f.live_bytes;
        r->supp_sites++;
        r->supp_blocks += f.live_blocks;
        r->supp_bytes += f.live_bytes;
        for (unsigned c = 0; r->leak_checked && c < MS_LEAK_CLASSES; c++) {
            r->supp_leak_blocks[c] += s->leak_blocks[c];
            r->supp_leak_bytes[c] += s->leak_bytes[c];
        }
    }
}
