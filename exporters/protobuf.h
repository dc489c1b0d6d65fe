/*
 * protobuf.h - the protobuf wire format into a writer (protobuf.c).
 */
#ifndef MS_PROTOBUF_H
#define MS_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

#include "writer.h"

/* Wire types. */
enum { MS_PB_VARINT = 0, MS_PB_LEN = 2 };

void ms_pb_varint(ms_writer_t *b, uint64_t v);
/* A field's key: its number and wire type. */
void ms_pb_key(ms_writer_t *b, unsigned field, unsigned wt);
/* An integer field; zero is the default and is left out. */
void ms_pb_uint(ms_writer_t *b, unsigned field, uint64_t v);
/* A length-delimited field of n bytes at p. */
void ms_pb_bytes(ms_writer_t *b, unsigned field, const void *p, size_t n);
/* A nested message: sub's bytes as field of b; sub is emptied. sub is a
 * writer onto memory (ms_writer_open_mem). */
void ms_pb_msg(ms_writer_t *b, unsigned field, ms_writer_t *sub);
/* Ends a scratch writer, freeing what it holds. */
void ms_pb_free(ms_writer_t *b);

#endif
