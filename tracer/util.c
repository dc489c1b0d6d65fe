/*
 * util.c - diagnostics, clocks and whole-buffer file I/O that never
 * allocate.
 *
 * Messages are formatted into a stack buffer and written with one write(2),
 * so they are safe inside malloc and keep the program's stdio untouched.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static void
vlog(const char *fmt, va_list ap)
{
    char buf[1024];
    int saved = errno;
    int n = snprintf(buf, sizeof(buf), "memscope: ");
    int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
    if (m < 0)
        m = 0;
    size_t len = (size_t)n + ((size_t)m < sizeof(buf) - (size_t)n - 1 ?
        (size_t)m : sizeof(buf) - (size_t)n - 2);
    buf[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, buf, len);
    (void)w;
    errno = saved;
}

void
ms_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
}

void
ms_warn_once(int *flag, const char *fmt, ...)
{
    if (__atomic_exchange_n(flag, 1, __ATOMIC_RELAXED))
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
}

uint64_t
ms_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
ms_now_precise_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
ms_clock_resolution_ns(void)
{
    struct timespec ts;
    if (clock_getres(CLOCK_MONOTONIC_COARSE, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- whole buffers to and from a descriptor (EINTR retried) ------------ */

enum { FD_WRITE, FD_PWRITE, FD_PREAD };

/* The one loop of the three: n bytes at p, from offset off but for
 * FD_WRITE (the descriptor's own); a short transfer goes on, EINTR is
 * retried, an error or the end of the file first is -1. */
static int
whole(int fd, char *p, size_t n, uint64_t off, int how)
{
    while (n > 0) {
        ssize_t k = how == FD_WRITE ? write(fd, p, n) :
            how == FD_PWRITE ? pwrite(fd, p, n, (off_t)off) :
            pread(fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

int
ms_fd_write(int fd, const void *p, size_t n)
{
    return whole(fd, (char *)p, n, 0, FD_WRITE);
}

int
ms_fd_pwrite(int fd, const void *p, size_t n, uint64_t off)
{
    return whole(fd, (char *)p, n, off, FD_PWRITE);
}

int
ms_fd_pread(int fd, void *p, size_t n, uint64_t off)
{
    return whole(fd, p, n, off, FD_PREAD);
}
