/*
 * link_app.c - a program linked against an installed memscope, by
 * tests/integration/link_install.sh: once with pkg-config against the
 * shared library, once against the static archive.
 *
 *   link_app shared   malloc must resolve into libmemscope_malloc.so
 *   link_app static   malloc must resolve into this executable
 *
 * Either way the malloc the program and the C library call must be
 * memscope's (jemalloc's size classes show it), and the program then
 * allocates a lot, from several threads, checking every byte it wrote.
 * Kept outside tests/programs/, whose files tests.mk builds without
 * the library.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memscope.h>

static int failures;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "link_app: %s:%d: ", __FILE__, __LINE__);      \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
            failures++;                                                    \
        }                                                                  \
    } while (0)

/* The object (a path) that holds address p. */
static const char *
object_of(const void *p, char *buf, size_t len)
{
    Dl_info info;
    if (dladdr(p, &info) == 0 || info.dli_fname == NULL)
        return "(unknown)";
    if (realpath(info.dli_fname, buf) == NULL)
        snprintf(buf, len, "%s", info.dli_fname);
    return buf;
}

static const char *
base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static uint32_t
next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Allocates, fills, resizes, checks and frees a lot. */
static void *
churn(void *arg)
{
    uint32_t seed = 2463534242u + (uint32_t)(uintptr_t)arg;
    enum { SLOTS = 4096 };
    unsigned char **slot = calloc(SLOTS, sizeof(*slot));
    size_t *size = calloc(SLOTS, sizeof(*size));
    long bad = 0;
    if (slot == NULL || size == NULL)
        return (void *)1;
    for (int i = 0; i < 150000; i++) {
        uint32_t r = next_rand(&seed);
        size_t k = r % SLOTS;
        if (slot[k] != NULL) {
            for (size_t j = 0; j < size[k]; j += 61)
                bad += slot[k][j] != (unsigned char)(k + j);
            if (r & 0x100) {
                free(slot[k]);
                slot[k] = NULL;
                continue;
            }
            size_t n = 1 + next_rand(&seed) % (r & 0x200 ? 70000 : 900);
            unsigned char *q = realloc(slot[k], n);
            if (q == NULL)
                return (void *)1;
            size_t keep = n < size[k] ? n : size[k];
            for (size_t j = 0; j < keep; j += 61)
                bad += q[j] != (unsigned char)(k + j);
            slot[k] = q;
            size[k] = n;
        } else {
            size_t n = 1 + next_rand(&seed) % (r & 0x400 ? 20000 : 300);
            if (r & 0x800) {
                void *q = NULL;
                if (posix_memalign(&q, (size_t)64 << (r % 4), n) != 0)
                    return (void *)1;
                slot[k] = q;
            } else {
                slot[k] = (r & 0x1000) ? calloc(1, n) : malloc(n);
            }
            if (slot[k] == NULL)
                return (void *)1;
            size[k] = n;
        }
        for (size_t j = 0; j < size[k]; j += 61)
            slot[k][j] = (unsigned char)(k + j);
    }
    for (size_t k = 0; k < SLOTS; k++)
        free(slot[k]);
    free(slot);
    free(size);
    return (void *)(intptr_t)(bad != 0);
}

int
main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "shared") && strcmp(argv[1], "static"))) {
        fprintf(stderr, "usage: link_app shared|static\n");
        return 2;
    }
    int shared = strcmp(argv[1], "shared") == 0;
    char self[PATH_MAX], where[PATH_MAX], global[PATH_MAX];
    if (realpath("/proc/self/exe", self) == NULL)
        return 2;

    /* The program's malloc, and the one the C library resolves (the
     * global scope), are memscope's. */
    object_of((void *)malloc, where, sizeof(where));
    object_of(dlsym(RTLD_DEFAULT, "malloc"), global, sizeof(global));
    if (shared) {
        CHECK(strcmp(base(where), "libmemscope_malloc.so") == 0,
            "malloc resolves into %s, not libmemscope_malloc.so", where);
        CHECK(strcmp(base(global), "libmemscope_malloc.so") == 0,
            "the global malloc resolves into %s", global);
    } else {
        CHECK(strcmp(where, self) == 0,
            "malloc resolves into %s, not the executable %s", where, self);
        CHECK(strcmp(global, self) == 0,
            "the global malloc resolves into %s, not the executable", global);
    }
    printf("malloc in %s\n", shared ? base(where) : "the executable");

    const char *v = memscope_version();
    CHECK(v != NULL && strcmp(v, MEMSCOPE_VERSION_STRING) == 0,
        "memscope_version() = %s, header says %s", v ? v : "NULL",
        MEMSCOPE_VERSION_STRING);
    printf("memscope_version %s\n", v ? v : "NULL");

    /* jemalloc's size classes: a 100-byte block has 112 usable bytes */
    void *p = malloc(100);
    CHECK(p != NULL && malloc_usable_size(p) == 112,
        "malloc(100) has %zu usable bytes, jemalloc gives 112",
        p ? malloc_usable_size(p) : 0);
    free(p);
    /* blocks the C library allocates come from it too: strdup, getline,
     * asprintf, a FILE's buffer, all freed by the program's free */
    char *s = strdup("abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz");
    CHECK(s != NULL && malloc_usable_size(s) == 112,
        "strdup's 100-byte block has %zu usable bytes",
        s ? malloc_usable_size(s) : 0);
    free(s);
    char *a = NULL;
    CHECK(asprintf(&a, "%0*d", 3000, 7) == 3000 && a[2999] == '7', "asprintf");
    free(a);
    FILE *f = fopen("/proc/self/maps", "r");
    CHECK(f != NULL, "fopen");
    char *line = NULL;
    size_t cap = 0;
    int lines = 0;
    while (f != NULL && getline(&line, &cap, f) > 0)
        lines++;
    free(line);
    if (f != NULL)
        fclose(f);
    CHECK(lines > 5, "read %d lines of maps", lines);

    /* a lot of allocation, from four threads at once */
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&th[i], NULL, churn, (void *)(intptr_t)i) == 0,
            "pthread_create");
    for (int i = 0; i < 4; i++) {
        void *r = NULL;
        pthread_join(th[i], &r);
        CHECK(r == NULL, "thread %d: allocation failed or data corrupted", i);
    }
    printf("churn done\n");
    if (failures)
        printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
