/*
 * rel_load.c - load for tests/integration/rel_load.sh: THREADS threads do
 * random malloc/calloc/realloc/aligned_alloc/posix_memalign/free for
 * SECONDS, handing blocks to each other through shared slots (so many
 * frees and reallocs are of another thread's block), while two more
 * threads each export the JSON report every 200 ms.
 *
 *   rel_load SECONDS THREADS DIR
 *
 * Every block carries its size and a fill pattern, checked before it is
 * freed or resized: memory the allocator corrupted is found. The program
 * counts its own calls. With the library preloaded it writes DIR/a.json
 * before the workload (workers already started and waiting), DIR/b.json
 * after it (workers still alive, blocks left in the slots), and DIR/c.json
 * after main freed the slots; on stdout it prints its own counts as
 * "count NAME VALUE" lines, which the script compares with the deltas of
 * the reports: nothing else allocates between the exports.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SLOTS    4096
#define LOCAL    64
#define MAGIC    0x5a17c0deu

typedef struct {
    uint32_t magic;
    uint32_t size;          /* requested bytes, header included */
    uint64_t seed;
} hdr_t;

typedef struct {
    uint64_t allocs, frees, reallocs, bytes_alloc, bytes_freed;
    uint64_t rng;
    hdr_t *local[LOCAL];
    int nlocal;
    char pad[64];
} worker_t;

static hdr_t *slots[SLOTS];
static int stop;
static pthread_barrier_t bar;
static int (*export_json)(const char *);
static const char *dir;

static void
die(const char *what)
{
    fprintf(stderr, "rel_load: %s\n", what);
    fflush(stderr);
    abort();
}

static uint64_t
rnd(worker_t *w)
{
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return w->rng;
}

static uint32_t
pick_size(worker_t *w)
{
    uint64_t r = rnd(w);
    switch (r % 100) {
    case 0: return 65536 + (uint32_t)(r >> 20) % (1u << 20);     /* large */
    case 1: case 2: case 3: return 4096 + (uint32_t)(r >> 20) % 65536;
    default: return sizeof(hdr_t) + (uint32_t)(r >> 20) % 1024;
    }
}

/* The pattern: byte i of a block is (seed + i) * 131, kept in the first
 * 512 and the last 64 bytes (the whole block would cost more than the
 * allocator under test). */
static int
patterned(uint32_t i, uint32_t size)
{
    return i < 512 || i + 64 >= size;
}

static void
fill(hdr_t *h, uint32_t from)
{
    unsigned char *b = (unsigned char *)h;
    for (uint32_t i = from > sizeof(*h) ? from : sizeof(*h); i < h->size; i++)
        if (patterned(i, h->size))
            b[i] = (unsigned char)((h->seed + i) * 131u);
}

static void
check(const hdr_t *h, uint32_t upto)
{
    const unsigned char *b = (const unsigned char *)h;
    if (h->magic != MAGIC)
        die("a block's header was overwritten");
    for (uint32_t i = sizeof(*h); i < upto && i < h->size; i++)
        if (patterned(i, h->size) &&
            b[i] != (unsigned char)((h->seed + i) * 131u))
            die("a block's contents changed");
}

static hdr_t *
new_block(worker_t *w)
{
    uint32_t n = pick_size(w);
    void *p = NULL;
    uint64_t r = rnd(w);
    switch (r % 5) {
    case 0:
    case 1:
        p = malloc(n);
        break;
    case 2: {
        p = calloc(1, n);
        if (p != NULL)
            for (uint32_t i = 0; i < n; i++)
                if (((unsigned char *)p)[i] != 0)
                    die("calloc returned memory that is not zero");
        break;
    }
    case 3:
        p = aligned_alloc((size_t)16 << ((r >> 8) % 9), n);  /* 16..4096 */
        if (p != NULL && ((uintptr_t)p & (((uintptr_t)16 << ((r >> 8) % 9)) - 1)))
            die("aligned_alloc returned a misaligned block");
        break;
    case 4: {
        size_t a = (size_t)8 << ((r >> 8) % 10);               /* 8..4096 */
        if (posix_memalign(&p, a, n) != 0)
            p = NULL;
        else if ((uintptr_t)p & (a - 1))
            die("posix_memalign returned a misaligned block");
        break;
    }
    }
    if (p == NULL)
        die("out of memory");
    hdr_t *h = p;
    h->magic = MAGIC;
    h->size = n;
    h->seed = rnd(w);
    fill(h, 0);
    w->allocs++;
    w->bytes_alloc += n;
    return h;
}

static void
drop_block(worker_t *w, hdr_t *h)
{
    check(h, h->size);
    w->frees++;
    w->bytes_freed += h->size;
    h->magic = 0;
    free(h);
}

static hdr_t *
resize_block(worker_t *w, hdr_t *h)
{
    uint32_t old = h->size, n = pick_size(w);
    check(h, old);
    hdr_t *q = realloc(h, n);
    if (q == NULL)
        die("realloc failed");
    check(q, n < old ? n : old);
    q->size = n;
    fill(q, 0);
    w->allocs++;
    w->frees++;
    w->reallocs++;
    w->bytes_alloc += n;
    w->bytes_freed += old;
    return q;
}

static void *
work(void *arg)
{
    worker_t *w = arg;
    pthread_barrier_wait(&bar);         /* a.json is written */
    pthread_barrier_wait(&bar);
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        uint64_t r = rnd(w);
        unsigned op = (unsigned)(r % 100);
        int li = w->nlocal ? (int)((r >> 8) % (uint64_t)w->nlocal) : -1;
        hdr_t **slot = &slots[(r >> 24) % SLOTS];
        if (op < 40 || li < 0) {
            if (w->nlocal == LOCAL) {
                drop_block(w, w->local[li]);
                w->local[li] = new_block(w);
            } else {
                w->local[w->nlocal++] = new_block(w);
            }
        } else if (op < 60) {
            drop_block(w, w->local[li]);
            w->local[li] = w->local[--w->nlocal];
        } else if (op < 70) {
            w->local[li] = resize_block(w, w->local[li]);
        } else if (op < 90) {
            /* hand a block over; take what the slot held */
            hdr_t *got = __atomic_exchange_n(slot, w->local[li], __ATOMIC_ACQ_REL);
            if (got != NULL)
                w->local[li] = got;
            else
                w->local[li] = w->local[--w->nlocal];
        } else {
            hdr_t *got = __atomic_exchange_n(slot, NULL, __ATOMIC_ACQ_REL);
            if (got != NULL) {
                if (op & 1) {
                    drop_block(w, got);
                } else {
                    /* resized and put back; whatever another thread put
                     * there meanwhile is ours now */
                    got = __atomic_exchange_n(slot, resize_block(w, got),
                        __ATOMIC_ACQ_REL);
                    if (got != NULL && w->nlocal < LOCAL)
                        w->local[w->nlocal++] = got;
                    else if (got != NULL)
                        drop_block(w, got);
                }
            }
        }
    }
    while (w->nlocal > 0)
        drop_block(w, w->local[--w->nlocal]);
    pthread_barrier_wait(&bar);         /* b.json, then c.json */
    pthread_barrier_wait(&bar);
    return NULL;
}

static void *
exporter(void *arg)
{
    int me = (int)(uintptr_t)arg;
    char path[4096];
    int n = 0;
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar);
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        struct timespec ts = { 0, 200 * 1000000L };
        nanosleep(&ts, NULL);
        if (export_json != NULL) {
            snprintf(path, sizeof(path), "%s/mid-%d-%d.json", dir, me, ++n);
            int rc = export_json(path);
            if (rc != 0 && rc != -95)
                die("memscope_export_json failed during the workload");
        }
    }
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar);
    return NULL;
}

static void
export_to(const char *name)
{
    char path[4096];
    if (export_json == NULL)
        return;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int rc = export_json(path);
    if (rc == -95) {            /* -ENOTSUP: the library is not tracing */
        export_json = NULL;
        return;
    }
    if (rc != 0) {
        fprintf(stderr, "rel_load: memscope_export_json(%s): %d\n", path, rc);
        exit(1);
    }
}

int
main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: rel_load SECONDS THREADS DIR\n");
        return 2;
    }
    double secs = atof(argv[1]);
    int nthreads = atoi(argv[2]);
    dir = argv[3];
    if (nthreads < 1 || nthreads > 1024)
        return 2;
    *(void **)&export_json = dlsym(RTLD_DEFAULT, "memscope_export_json");
    worker_t *ws = calloc((size_t)nthreads, sizeof(*ws));
    pthread_t *tids = calloc((size_t)nthreads + 2, sizeof(*tids));
    if (ws == NULL || tids == NULL)
        die("out of memory");
    pthread_barrier_init(&bar, NULL, (unsigned)nthreads + 3);
    for (int i = 0; i < nthreads; i++) {
        ws[i].rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1) ^ (uint64_t)getpid();
        if (pthread_create(&tids[i], NULL, work, &ws[i]) != 0)
            die("pthread_create failed");
    }
    for (int i = 0; i < 2; i++)
        if (pthread_create(&tids[nthreads + i], NULL, exporter,
                (void *)(uintptr_t)(i + 1)) != 0)
            die("pthread_create failed");
    struct timespec t0, t1;
    pthread_barrier_wait(&bar);
    export_to("a.json");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_barrier_wait(&bar);
    struct timespec ts = { (time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9) };
    nanosleep(&ts, NULL);
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    pthread_barrier_wait(&bar);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    export_to("b.json");
    uint64_t left = 0, left_bytes = 0;
    for (int i = 0; i < SLOTS; i++)
        if (slots[i] != NULL) {
            left++;
            left_bytes += slots[i]->size;
        }
    worker_t sum = { 0 };
    for (int i = 0; i < nthreads; i++) {
        sum.allocs += ws[i].allocs;
        sum.frees += ws[i].frees;
        sum.reallocs += ws[i].reallocs;
        sum.bytes_alloc += ws[i].bytes_alloc;
        sum.bytes_freed += ws[i].bytes_freed;
    }
    /* main frees what is left in the slots: other threads' blocks */
    worker_t mainw = { 0 };
    for (int i = 0; i < SLOTS; i++)
        if (slots[i] != NULL)
            drop_block(&mainw, slots[i]);
    export_to("c.json");
    pthread_barrier_wait(&bar);
    for (int i = 0; i < nthreads + 2; i++)
        pthread_join(tids[i], NULL);
    if (sum.allocs - sum.frees != left || sum.bytes_alloc - sum.bytes_freed != left_bytes)
        die("the program's own counts do not add up");
    printf("count allocs %llu\n", (unsigned long long)sum.allocs);
    printf("count frees %llu\n", (unsigned long long)sum.frees);
    printf("count reallocs %llu\n", (unsigned long long)sum.reallocs);
    printf("count bytes_allocated %llu\n", (unsigned long long)sum.bytes_alloc);
    printf("count bytes_freed %llu\n", (unsigned long long)sum.bytes_freed);
    printf("count left_blocks %llu\n", (unsigned long long)left);
    printf("count left_bytes %llu\n", (unsigned long long)left_bytes);
    printf("count main_frees %llu\n", (unsigned long long)mainw.frees);
    printf("count main_bytes_freed %llu\n", (unsigned long long)mainw.bytes_freed);
    printf("seconds %.2f threads %d\n", (double)(t1.tv_sec - t0.tv_sec) +
        (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, nthreads);
    free(ws);
    free(tids);
    return 0;
}
