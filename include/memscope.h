/*
 * memscope.h - the one public header of memscope, a malloc replacement
 * over jemalloc with built-in memory tracing.
 *
 * Linking -lmemscope_malloc (or preloading libmemscope_malloc.so) is all
 * it takes to replace malloc; this header adds the tracing API.
 *
 * Error convention: functions that can fail return 0 on success and a
 * negative errno value on failure; memscope_strerror() describes it.
 */
#ifndef MEMSCOPE_H
#define MEMSCOPE_H

#ifdef __cplusplus
extern "C" {
#endif

#define MEMSCOPE_VERSION_MAJOR 0
#define MEMSCOPE_VERSION_MINOR 1
#define MEMSCOPE_VERSION_PATCH 0
#define MEMSCOPE_VERSION_STRING "0.1.0"

/* The library's version as "MAJOR.MINOR.PATCH" (a static string). */
const char *memscope_version(void);

/* Non-zero when the library is tracing (MEMSCOPE_ENABLE is not 0). */
int memscope_is_tracing(void);

/* A static description of a negative errno-style result. */
const char *memscope_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif
