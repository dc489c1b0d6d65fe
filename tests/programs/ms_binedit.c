/*
 * ms_binedit.c - edits a binary report for the bad-input tests, then (unless
 * --raw) makes its length field and checksum right again, so that the
 * reader's checks behind the checksum can be reached (docs/format.md).
 *
 *   ms_binedit [--raw] IN OUT EDIT...
 *
 * EDIT is OFF=HEX (overwrite bytes at OFF), +OFF=HEX (insert them before
 * OFF) or -OFF:LEN (remove LEN bytes at OFF); offsets are decimal and
 * apply to the file as edited so far.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

static unsigned char *buf;
static size_t len;

static void
die(const char *msg, const char *arg)
{
    fprintf(stderr, "ms_binedit: %s%s\n", msg, arg ? arg : "");
    exit(2);
}

static size_t
hex_bytes(const char *hex, unsigned char *out, size_t max)
{
    size_t n = 0;
    for (; hex[0] && hex[1] && n < max; hex += 2) {
        unsigned v;
        if (sscanf(hex, "%2x", &v) != 1)
            die("bad hex: ", hex);
        out[n++] = (unsigned char)v;
    }
    if (hex[0])
        die("odd hex digits: ", hex);
    return n;
}

static void
edit(const char *e)
{
    unsigned char bytes[4096];
    char *end;
    int op = e[0] == '+' || e[0] == '-' ? e[0] : '=';
    size_t off = strtoul(e + (op != '='), &end, 10);
    if (op == '-') {
        size_t n = strtoul(end + 1, NULL, 10);
        if (*end != ':' || off + n > len)
            die("bad removal: ", e);
        memmove(buf + off, buf + off + n, len - off - n);
        len -= n;
        return;
    }
    if (*end != '=')
        die("bad edit: ", e);
    size_t n = hex_bytes(end + 1, bytes, sizeof(bytes));
    if (op == '+') {
        if (off > len)
            die("insertion past the end: ", e);
        buf = realloc(buf, len + n);
        memmove(buf + off + n, buf + off, len - off);
        len += n;
    } else if (off + n > len) {
        die("edit past the end: ", e);
    }
    memcpy(buf + off, bytes, n);
}

static void
put_le(unsigned char *p, unsigned long long v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

int
main(int argc, char **argv)
{
    int raw = argc > 1 && strcmp(argv[1], "--raw") == 0;
    if (argc < 3 + raw)
        die("usage: ms_binedit [--raw] IN OUT EDIT...", NULL);
    FILE *f = fopen(argv[1 + raw], "rb");
    if (f == NULL)
        die("cannot open ", argv[1 + raw]);
    buf = malloc(1 << 24);
    len = fread(buf, 1, 1 << 24, f);
    fclose(f);
    for (int i = 3 + raw; i < argc; i++)
        edit(argv[i]);
    if (!raw && len >= 32) {
        put_le(buf + 16, len);
        put_le(buf + len - 8, XXH3_64bits(buf, len - 8));
    }
    f = fopen(argv[2 + raw], "wb");
    if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
        die("cannot write ", argv[2 + raw]);
    free(buf);
    return 0;
}
