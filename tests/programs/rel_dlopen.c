/*
 * rel_dlopen.c - loads and unloads a library again and again, from main
 * and from 4 threads at once, for tests/integration/rel_exit.sh.
 *
 *   rel_dlopen LIB.so ROUNDS
 *
 * The library (tests/data/rel_dl.c) allocates in its constructor, frees in
 * its destructor, hands out blocks freed here, and leaks one 1234-byte
 * block per load that really mapped it (stderr: how many; a dlclose while
 * another thread holds the library does not unmap it).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static const char *lib;
static int rounds;
static int leaks;

static void *
loader(void *arg)
{
    int loads = 0;
    for (int r = 0; r < rounds; r++) {
        void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
        if (h == NULL) {
            fprintf(stderr, "rel_dlopen: %s\n", dlerror());
            exit(3);
        }
        void *(*work)(int, int *);
        *(void **)&work = dlsym(h, "rel_dl_work");
        if (work == NULL)
            exit(4);
        int leaked = 0;
        for (int i = 0; i < 50; i++)
            free(work(i + (int)(uintptr_t)arg, &leaked));
        __atomic_add_fetch(&leaks, leaked, __ATOMIC_RELAXED);
        if (dlclose(h) != 0)
            exit(5);
        loads++;
    }
    return (void *)(uintptr_t)loads;
}

int
main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    lib = argv[1];
    rounds = atoi(argv[2]);
    int total = (int)(uintptr_t)loader(NULL);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, loader, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < 4; i++) {
        void *n;
        pthread_join(t[i], &n);
        total += (int)(uintptr_t)n;
    }
    printf("loaded and unloaded %d times\n", total);
    /* how many loads really mapped it anew: not the same from run to run */
    fprintf(stderr, "leaked %d blocks of 1234 bytes\n", leaks);
    return 0;
}
