/*
 * md_out.c - see md_out.h. Strings from the traced program can hold
 * anything: they are written either as escaped text (every character that
 * means something to a markdown reader behind a backslash) or as code
 * spans with a long enough fence; control bytes show as \n-style escapes,
 * invalid UTF-8 and bidirectional controls as U+FFFD. So no name can start
 * a heading, a list, a link or raw HTML.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "md_out.h"
#include "writer.h"
#include "xalloc.h"

#define NAME_MAX_BYTES 200  /* of a name shown; longer ones end in "..." */

/* ---- strings from the traced program ------------------------------------ */

enum { AS_TEXT, AS_CODE, AS_BLOCK };


/* Characters that mean something to a CommonMark (or GFM) reader inline;
 * the rest of ASCII never starts anything, as a name is never first on
 * its line. */
static int
md_special(unsigned char c)
{
    return c != '\0' && strchr("\\`*_[]<>&|#!~", c) != NULL;
}

/* Writes up to NAME_MAX_BYTES of s, made safe for `how`. */
static void
put_safe(ms_md_out_t *o, const char *str, int how)
{
    const unsigned char *s = (const unsigned char *)str;
    const unsigned char *end = s + strlen(str);
    const unsigned char *stop = end - s > NAME_MAX_BYTES ? s + NAME_MAX_BYTES : end;
    while (s < stop) {
        uint32_t cp = 0;
        size_t n = ms_utf8_decode(s, &cp);
        if (n > 0 && (cp < 0x20 || cp == 0x7F)) {
            const char *e = cp == '\n' ? "n" : cp == '\r' ? "r" :
                cp == '\t' ? "t" : NULL;
            ms_w_str(o->w, how == AS_TEXT ? "\\\\" : "\\");
            if (e)
                ms_w_str(o->w, e);
            else
                ms_w_fmt(o->w, "x%02x", (unsigned)cp);
        } else if (n == 0 || (cp >= 0x80 && cp <= 0x9F) ||
                   (cp >= 0x202A && cp <= 0x202E) ||
                   (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
                   cp == 0x2029) {
            ms_w_str(o->w, "\xEF\xBF\xBD");       /* U+FFFD */
            n = n ? n : 1;
        } else {
            if (how == AS_TEXT && md_special(*s))
                ms_w_bytes(o->w, "\\", 1);
            ms_w_bytes(o->w, s, n);
        }
        s += n;
    }
    if (stop < end)
        ms_w_str(o->w, "...");
}

/* Escaped text; NULL or empty: `none`. A name may come first in a list
 * item, where "-", "+", "1." or spaces would start a block: a leading
 * punctuation character is escaped, a leading space written as an entity,
 * and the "." or ")" after leading digits escaped. */
void
ms_md_text(ms_md_out_t *o, const char *s, const char *none)
{
    if (s == NULL || *s == '\0') {
        ms_w_str(o->w, none);
        return;
    }
    if (*s == ' ') {
        ms_w_str(o->w, "&#32;");
        s++;
    } else if (*s > ' ' && *s < 0x7F && strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", *s)
               && !md_special((unsigned char)*s)) {
        ms_w_bytes(o->w, "\\", 1);
    } else {
        size_t d = strspn(s, "0123456789");
        if (d > 0 && d < 10 && (s[d] == '.' || s[d] == ')')) {
            ms_w_bytes(o->w, s, d);
            ms_w_bytes(o->w, "\\", 1);
            s += d;
        }
    }
    put_safe(o, s, AS_TEXT);
}

/* A code span holding s and then suffix (ours, no backticks). */
void
ms_md_code(ms_md_out_t *o, const char *s, const char *suffix)
{
    size_t run = 0, longest = 0, n = strlen(s);
    if (n == 0 && *suffix == '\0') {
        ms_w_str(o->w, "(empty)");
        return;
    }
    if (n > NAME_MAX_BYTES)
        n = NAME_MAX_BYTES;
    for (size_t i = 0; i < n; i++) {
        run = s[i] == '`' ? run + 1 : 0;
        if (run > longest)
            longest = run;
    }
    char fence[NAME_MAX_BYTES + 2];
    memset(fence, '`', longest + 1);
    fence[longest + 1] = '\0';
    /* a space on each side when the content starts or ends with a
     * backtick or with a space, which the reader strips again */
    char last = *suffix ? suffix[strlen(suffix) - 1] :
        n < strlen(s) ? '.' : n ? s[n - 1] : ' ';
    int pad = n > 0 && (s[0] == '`' || s[0] == ' ' || last == '`' ||
        last == ' ');
    ms_w_str(o->w, fence);
    if (pad)
        ms_w_str(o->w, " ");
    put_safe(o, s, AS_CODE);
    ms_w_str(o->w, suffix);
    if (pad)
        ms_w_str(o->w, " ");
    ms_w_str(o->w, fence);
}

/* ---- figures --------------------------------------------------------------- */

void
ms_md_human(ms_md_out_t *o, double v)
{
    static const char *units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
    if (v < 1024)
        return;
    int u = -1;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    ms_w_fmt(o->w, " (%.1f %s)", v, units[u]);
}

void
ms_md_bytes(ms_md_out_t *o, uint64_t v)
{
    ms_w_fmt(o->w, "%llu B", (unsigned long long)v);
    ms_md_human(o, (double)v);
}

/* A measured figure, or "not measured" for -1. */
void
ms_md_mbytes(ms_md_out_t *o, int64_t v)
{
    if (v < 0)
        ms_w_str(o->w, "not measured");
    else
        ms_md_bytes(o, (uint64_t)v);
}

void
ms_md_duration(ms_md_out_t *o, uint64_t ns)
{
    if (ns < 1000000000)
        ms_w_fmt(o->w, "%.3f ms", (double)ns / 1e6);
    else if (ns < 10000000000ull)
        ms_w_fmt(o->w, "%.3f s", (double)ns / 1e9);
    else
        ms_w_fmt(o->w, "%.1f s", (double)ns / 1e9);
}

/* UTC date and time of a Unix time in ns (no libc time zone code, which
 * may allocate). Days to civil date: H. Hinnant's algorithm. */
void
ms_md_utc(ms_md_out_t *o, uint64_t unix_ns)
{
    int64_t secs = (int64_t)(unix_ns / 1000000000u);
    int64_t z = secs / 86400 + 719468, sod = secs % 86400;
    int64_t era = z / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    ms_w_fmt(o->w, "%04lld-%02lld-%02lld %02lld:%02lld:%02lld UTC", (long long)y,
        (long long)m, (long long)d, (long long)(sod / 3600),
        (long long)(sod / 60 % 60), (long long)(sod % 60));
}

void
ms_md_raw(ms_md_out_t *o, const char *s)
{
    put_safe(o, s, AS_BLOCK);
}
