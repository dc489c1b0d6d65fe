/*
 * gzip.c - see gzip.h. zlib's entry points are looked up once and kept
 * (pthread_once); zlib allocates through the exporters' allocator (the
 * tracer's arena inside the library), never the program's heap.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <zlib.h>

#include "gzip.h"
#include "xalloc.h"

typedef struct {
    int (*init2)(z_streamp, int, int, int, int, int, const char *, int);
    int (*deflate)(z_streamp, int);
    int (*end)(z_streamp);
} zfns_t;

static zfns_t zfns;
static int have_zlib;
static pthread_once_t zlib_once = PTHREAD_ONCE_INIT;

static void
zlib_load(void)
{
    void *h = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
    if (h == NULL)
        return;
    zfns.init2 = (int (*)(z_streamp, int, int, int, int, int, const char *,
        int))dlsym(h, "deflateInit2_");
    zfns.deflate = (int (*)(z_streamp, int))dlsym(h, "deflate");
    zfns.end = (int (*)(z_streamp))dlsym(h, "deflateEnd");
    have_zlib = zfns.init2 != NULL && zfns.deflate != NULL && zfns.end != NULL;
}

static uint32_t crc_tab[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void
crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_tab[i] = c;
    }
}

unsigned
ms_crc32(unsigned crc, const void *p, size_t n)
{
    pthread_once(&crc_once, crc_init);
    const unsigned char *s = p;
    uint32_t c = ~(uint32_t)crc;
    while (n-- > 0)
        c = crc_tab[(c ^ *s++) & 0xFF] ^ (c >> 8);
    return ~c;
}

static voidpf
z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    if (size != 0 && items > SIZE_MAX / size)
        return NULL;
    return ms_xmalloc((size_t)items * size);
}

static void
z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    ms_xfree(p);
}

/* Raw deflate through zlib; 0, or -1 when zlib failed. */
static int
deflate_zlib(ms_writer_t *w, const unsigned char *data, size_t n)
{
    enum { CHUNK = 65536 };
    unsigned char *out = ms_xmalloc(CHUNK);
    if (out == NULL)
        return -1;
    z_stream z = { .zalloc = z_alloc, .zfree = z_free };
    /* level 1: speed first, as Go's runtime writes its profiles; -15: a
     * raw stream, the container is ours */
    if (zfns.init2(&z, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY,
        ZLIB_VERSION, (int)sizeof(z)) != Z_OK) {
        ms_xfree(out);
        return -1;
    }
    int rc = Z_OK;
    z.next_in = (Bytef *)data;
    size_t left = n;
    do {
        uInt take = left > (1u << 30) ? 1u << 30 : (uInt)left;
        z.avail_in = take;
        left -= take;
        int flush = left == 0 ? Z_FINISH : Z_NO_FLUSH;
        do {
            z.next_out = out;
            z.avail_out = CHUNK;
            rc = zfns.deflate(&z, flush);
            if (rc == Z_STREAM_ERROR)
                break;
            ms_w_bytes(w, out, CHUNK - z.avail_out);
        } while (z.avail_out == 0);
    } while (left > 0 && rc != Z_STREAM_ERROR);
    zfns.end(&z);
    ms_xfree(out);
    return rc == Z_STREAM_END ? 0 : -1;
}

/* Stored blocks (RFC 1951, 3.2.4): a byte of header bits (BFINAL, BTYPE
 * 00), LEN and its complement, then LEN bytes; at most 65535 a block. */
static void
deflate_stored(ms_writer_t *w, const unsigned char *data, size_t n)
{
    do {
        size_t k = n > 65535 ? 65535 : n;
        unsigned char h[5] = { n == k ? 1 : 0, (unsigned char)k,
            (unsigned char)(k >> 8), (unsigned char)~k,
            (unsigned char)(~k >> 8) };
        ms_w_bytes(w, h, sizeof(h));
        ms_w_bytes(w, data, k);
        data += k;
        n -= k;
    } while (n > 0);
}

static void
put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

void
ms_gzip_write(ms_writer_t *w, const void *data, size_t n, ms_gzip_mode_t mode)
{
    /* magic, deflate, no flags, no mtime (the same input gives the same
     * bytes), no extra flags, OS unix */
    static const unsigned char head[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0,
        3 };
    ms_w_bytes(w, head, sizeof(head));
    if (mode == MS_GZIP_DEFLATE)
        pthread_once(&zlib_once, zlib_load);
    if (mode == MS_GZIP_DEFLATE && have_zlib) {
        if (deflate_zlib(w, data, n) != 0) {
            if (w->err == 0)
                w->err = ENOMEM;
            return;
        }
    } else {
        deflate_stored(w, data, n);
    }
    unsigned char tail[8];
    put_le32(tail, ms_crc32(0, data, n));
    put_le32(tail + 4, (uint32_t)n);        /* ISIZE: the length mod 2^32 */
    ms_w_bytes(w, tail, sizeof(tail));
}
