/*
 * protobuf.c - the protobuf wire format, written into a writer
 * (writer.h): what pprof.c's profile.proto needs (varints, length-
 * delimited fields and nested messages), nothing else. Encoded here: a
 * protobuf library (libprotobuf-c) would be one more dependency of a
 * library that runs inside other people's programs, with allocations of
 * its own outside the tracer's arena.
 */
#include <errno.h>

#include "protobuf.h"
#include "xalloc.h"

void
ms_pb_varint(ms_writer_t *b, uint64_t v)
{
    if (b->len + 10 < sizeof(b->buf)) {
        /* room for the longest: straight into the buffer, never filling
         * it (ms_w_bytes flushes a full one) */
        unsigned char *q = (unsigned char *)b->buf + b->len, *q0 = q;
        while (v >= 0x80) {
            *q++ = (unsigned char)(v | 0x80);
            v >>= 7;
        }
        *q++ = (unsigned char)v;
        b->len += (size_t)(q - q0);
        b->written += (uint64_t)(q - q0);
        return;
    }
    unsigned char tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (unsigned char)v;
    ms_w_bytes(b, tmp, n);
}

void
ms_pb_key(ms_writer_t *b, unsigned field, unsigned wt)
{
    ms_pb_varint(b, (uint64_t)field << 3 | wt);
}

/* An integer field; zero is the default and is left out. */
void
ms_pb_uint(ms_writer_t *b, unsigned field, uint64_t v)
{
    if (v == 0)
        return;
    ms_pb_key(b, field, MS_PB_VARINT);
    ms_pb_varint(b, v);
}

void
ms_pb_bytes(ms_writer_t *b, unsigned field, const void *p, size_t n)
{
    ms_pb_key(b, field, MS_PB_LEN);
    ms_pb_varint(b, n);
    ms_w_bytes(b, p, n);
}

/* A nested message: sub's bytes as field of b; sub is emptied. sub is
 * a writer onto memory (ms_writer_open_mem); a message shorter than its
 * buffer, which is almost every one, is copied straight from there. */
void
ms_pb_msg(ms_writer_t *b, unsigned field, ms_writer_t *sub)
{
    if (sub->err == 0 && sub->mem_len == 0) {
        ms_pb_bytes(b, field, sub->buf, sub->len);
        sub->len = 0;
        sub->written = 0;
        return;
    }
    size_t n;
    char *m = ms_writer_take(sub, &n);
    if (m == NULL && b->err == 0)
        b->err = ENOMEM;
    else if (m != NULL)
        ms_pb_bytes(b, field, m, n);
    ms_xfree(m);
    ms_writer_open_mem(sub);
}

/* Ends a scratch writer, freeing what it holds. */
void
ms_pb_free(ms_writer_t *b)
{
    size_t n;
    ms_xfree(ms_writer_take(b, &n));
}
