/*
 * fuzz_bin_read.c - libFuzzer harness for the binary report reader
 * (cli/bin_read.c), built by tests/fuzz/fuzz.mk.
 *
 * Each input is read twice: as it is, which exercises the header, length
 * and checksum checks, and with its length field and checksum made right,
 * so that mutations reach the section parser behind them. Whatever the
 * reader accepts must then be safe to use: every exporter writes it (to
 * /dev/null), the binary writer's output must read back and write the
 * same bytes again, and the pprof writer's gzip, deflated by zlib or in
 * stored blocks, must inflate (zlib) to the profile it encoded. A
 * rejected input must leave a one-line message.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>
#include <zlib.h>

#include "../../exporters/bin_read.h"
#include "../../exporters/export.h"

static int devnull = -1, memfd = -1;
static ms_writer_t *wr;

/* A writer over an open descriptor (the writer's own flush runs when its
 * buffer fills; the rest is written here). */
static void
render(int fd, void (*fn)(ms_writer_t *, const ms_report_t *),
    const ms_report_t *r)
{
    memset(wr, 0, offsetof(ms_writer_t, buf));
    wr->fd = fd;
    fn(wr, r);
    if (wr->len > 0 && write(fd, wr->buf, wr->len) != (ssize_t)wr->len)
        abort();
}

/* The binary writer's output for r, in a buffer of *len bytes. */
static unsigned char *
encode(const ms_report_t *r, size_t *len)
{
    if (ftruncate(memfd, 0) != 0 || lseek(memfd, 0, SEEK_SET) != 0)
        abort();
    render(memfd, ms_bin_write, r);
    off_t n = lseek(memfd, 0, SEEK_CUR);
    unsigned char *buf = malloc((size_t)n + 1);
    if (buf == NULL || pread(memfd, buf, (size_t)n, 0) != n)
        abort();
    *len = (size_t)n;
    return buf;
}

/* What fn wrote for r, gunzipped, is the profile ms_pprof_encode makes. */
static void
pprof_check(const ms_report_t *r,
    void (*fn)(ms_writer_t *, const ms_report_t *))
{
    size_t n, plen;
    unsigned char *gz = NULL, *prof;
    if (ftruncate(memfd, 0) != 0 || lseek(memfd, 0, SEEK_SET) != 0)
        abort();
    render(memfd, fn, r);
    if (wr->err != 0)
        abort();
    off_t len = lseek(memfd, 0, SEEK_CUR);
    gz = malloc((size_t)len + 1);
    if (gz == NULL || pread(memfd, gz, (size_t)len, 0) != len)
        abort();
    n = (size_t)len;
    if (ms_pprof_encode(r, &prof, &plen) != 0)
        abort();
    unsigned char *out = malloc(plen + 1);
    if (out == NULL)
        abort();
    z_stream z = { 0 };
    if (inflateInit2(&z, 16 + 15) != Z_OK)     /* gzip only */
        abort();
    z.next_in = gz;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)plen + 1;
    int rc = inflate(&z, Z_FINISH);
    if (rc != Z_STREAM_END || z.total_out != plen || z.avail_in != 0 ||
        memcmp(out, prof, plen) != 0) {
        fprintf(stderr, "the pprof gzip does not inflate to its profile "
            "(zlib: %d, %lu of %zu bytes)\n", rc, z.total_out, plen);
        abort();
    }
    inflateEnd(&z);
    free(out);
    free(prof);
    free(gz);
}

/* The pprof writer's zlib-free path. */
static void
pprof_stored(ms_writer_t *w, const ms_report_t *r)
{
    ms_pprof_write_gz(w, r, 1);
}

static void
use(const ms_report_t *r)
{
    void (*fns[])(ms_writer_t *, const ms_report_t *) = { ms_json_write,
        ms_folded_write, ms_folded_write_allocated, ms_md_write,
        ms_html_write };
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
        if (fns[i] != NULL)
            render(devnull, fns[i], r);
    pprof_check(r, ms_pprof_write);
    pprof_check(r, pprof_stored);
    size_t n1, n2;
    unsigned char *b1 = encode(r, &n1);
    ms_report_t *again;
    char err[256];
    if (ms_bin_read(b1, n1, &again, err, sizeof(err)) != 0) {
        fprintf(stderr, "a report written does not read back: %s\n", err);
        abort();
    }
    unsigned char *b2 = encode(again, &n2);
    if (n1 != n2 || memcmp(b1, b2, n1) != 0) {
        fprintf(stderr, "writing a report read back changes it\n");
        abort();
    }
    ms_report_free(again);
    free(b1);
    free(b2);
}

static void
check(const uint8_t *data, size_t size)
{
    ms_report_t *r = (ms_report_t *)1;
    char err[256];
    if (ms_bin_read(data, size, &r, err, sizeof(err)) != 0) {
        if (r != NULL || err[0] == '\0' || strchr(err, '\n') != NULL)
            abort();
        return;
    }
    use(r);
    ms_report_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (wr == NULL) {
        wr = malloc(sizeof(*wr));
        devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
        memfd = memfd_create("fuzz-bin", MFD_CLOEXEC);
        if (wr == NULL || devnull < 0 || memfd < 0)
            abort();
    }
    check(data, size);
    if (size < MS_BIN_HEADER_LEN + MS_BIN_TRAILER_LEN)
        return 0;
    uint8_t *fixed = malloc(size);
    if (fixed == NULL)
        return 0;
    memcpy(fixed, data, size);
    memcpy(fixed, MS_BIN_MAGIC, MS_BIN_MAGIC_LEN);
    uint64_t v = size;
    for (int i = 0; i < 8; i++)
        fixed[16 + i] = (uint8_t)(v >> (8 * i));
    v = XXH3_64bits(fixed, size - MS_BIN_TRAILER_LEN);
    for (int i = 0; i < 8; i++)
        fixed[size - 8 + i] = (uint8_t)(v >> (8 * i));
    check(fixed, size);
    free(fixed);
    return 0;
}
