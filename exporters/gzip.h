/*
 * gzip.h - one gzip member (RFC 1952) written through the writer: the
 * container, its CRC-32 and length are ours; the deflate stream comes from
 * zlib, opened with dlopen the first time it is needed, or, when zlib
 * cannot be loaded (or the caller asks), from stored blocks: valid deflate
 * that any gzip reader accepts, only not smaller.
 *
 * Why dlopen: the library runs inside other people's programs, and linking
 * -lz would add a dependency to every program it is preloaded into or
 * linked with, and to the static link line, for a format few runs ask for.
 * Loading zlib when a pprof profile is written (as libdw is loaded when
 * frames are named) keeps the library's dependencies what they were.
 */
#ifndef MS_GZIP_H
#define MS_GZIP_H

#include <stddef.h>

#include "writer.h"

typedef enum {
    MS_GZIP_DEFLATE,        /* zlib's deflate at its fastest level, if loaded */
    MS_GZIP_STORED,         /* stored blocks only, never zlib */
} ms_gzip_mode_t;

/* Writes data[0, n) as one gzip member. A failure (out of memory, zlib
 * error) sets w->err, so the writer publishes no file. */
void ms_gzip_write(ms_writer_t *w, const void *data, size_t n,
    ms_gzip_mode_t mode);

/* CRC-32 (ISO-HDLC, as gzip and zlib's crc32 compute it) of p[0, n),
 * continuing from crc (0 to start). */
unsigned ms_crc32(unsigned crc, const void *p, size_t n);

#endif
