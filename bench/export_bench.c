/*
 * export_bench.c - how long each report format takes to write, and how
 * big it is, for a process with N live blocks.
 *
 *   export_bench LIVE_BLOCKS OUT_DIR [THREADS]
 *
 * THREADS threads (8 by default) allocate LIVE_BLOCKS blocks of 16..128
 * bytes between them, spread over SITES distinct call sites: SITES small
 * functions generated below, each its own return address (and so its own
 * call stack at any depth). While the threads wait with their blocks
 * live, the main thread calls memscope_export(OUT_DIR, "fmt", FORMAT) for
 * one format at a time, then for all of them in one call, timing each
 * with clock_gettime; then the threads free everything. It prints:
 *
 *   LIVE live_blocks=L live_bytes=B threads=T sites=S
 *   EXPORT format=F rc=R ns=T bytes=N    (bytes=-1: the file was not
 *                                         written: format not built)
 *
 * and bin+leaks: bin with the leak classes (MEMSCOPE_EXPORT_LEAKS): less
 * bin's own line, the scan of every live block.
 *
 * Then, blocks still live, the pause a snapshot costs the program: a
 * probe thread allocates and frees 64 bytes in a loop, timing each
 * iteration, for 1 s without a snapshot, then while a snapshot asked for
 * with raise(SIGUSR1) is written (the writer thread, named "memscope",
 * comes and goes: seen in /proc/self/task). The main thread allocates nothing
 * meanwhile, so an allocation of the probe starts the writer:
 *
 *   PAUSE base_max_ns=M base_ops=N snap_max_ns=M snap_ops=N snap_ns=T
 *         start_ns=S start_cost_ns=C
 *
 * M: the probe's longest iteration, N: its iterations; T: signal to writer
 * gone; S: signal to writer seen (0: it came and went between two looks,
 * 1 ms apart); C: the longest of the probe's 16
 * iterations after the request (one of them started the writer).
 *
 * Linked with -lmemscope_malloc, so its malloc is memscope's.
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "memscope.h"
#include "common.h"

#define SITES 10000

/* SITES functions site_10000 .. site_19999, kept apart by their constant
 * (and by -fno-ipa-icf), never inlined, never tail-calling malloc. */
static volatile uintptr_t sink;
#define FN(n) static __attribute__((noinline, noclone)) void * \
    site_##n(size_t len) { void *p = malloc(len); sink += (uintptr_t)p ^ n##u; return p; }
#define L1(m, p) m(p##0) m(p##1) m(p##2) m(p##3) m(p##4) m(p##5) m(p##6) m(p##7) m(p##8) m(p##9)
#define L2(m, p) L1(m, p##0) L1(m, p##1) L1(m, p##2) L1(m, p##3) L1(m, p##4) \
    L1(m, p##5) L1(m, p##6) L1(m, p##7) L1(m, p##8) L1(m, p##9)
#define L3(m, p) L2(m, p##0) L2(m, p##1) L2(m, p##2) L2(m, p##3) L2(m, p##4) \
    L2(m, p##5) L2(m, p##6) L2(m, p##7) L2(m, p##8) L2(m, p##9)
#define L4(m, p) L3(m, p##0) L3(m, p##1) L3(m, p##2) L3(m, p##3) L3(m, p##4) \
    L3(m, p##5) L3(m, p##6) L3(m, p##7) L3(m, p##8) L3(m, p##9)
L4(FN, 1)
#define REF(n) site_##n,
static void *(*const site[SITES])(size_t) = { L4(REF, 1) };

typedef struct {
    long first, count;
    void **blocks;
    pthread_barrier_t *bar;
} arg_t;

static void *
worker(void *p)
{
    arg_t *a = p;
    for (long j = 0; j < a->count; j++) {
        long g = a->first + j;
        size_t len = 16 + (size_t)(g % 8) * 16;
        if ((a->blocks[j] = site[(g * 7919) % SITES](len)) == NULL)
            bench_die("malloc");
    }
    pthread_barrier_wait(a->bar);       /* all live: main exports */
    pthread_barrier_wait(a->bar);       /* exports done */
    for (long j = 0; j < a->count; j++)
        free(a->blocks[j]);
    return NULL;
}

static void
export_one(const char *dir, const char *name, unsigned fmt, const char *ext)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/fmt.%s", dir, ext);
    unlink(path);
    uint64_t t0 = bench_now_ns();
    int rc = memscope_export(dir, "fmt", fmt);
    uint64_t t1 = bench_now_ns();
    struct stat st;
    long long bytes = stat(path, &st) == 0 ? (long long)st.st_size : -1;
    printf("EXPORT format=%s rc=%d ns=%llu bytes=%lld\n", name, rc,
        (unsigned long long)(t1 - t0), bytes);
    fflush(stdout);
}

static int probe_stop, probe_asked;
static uint64_t probe_max, probe_ops, probe_start_max;

static void *
probe(void *arg)
{
    (void)arg;
    uint64_t max = 0, ops = 0, t = bench_now_ns(), start_max = 0;
    int after = -1;
    while (!__atomic_load_n(&probe_stop, __ATOMIC_RELAXED)) {
        if (after < 0 && __atomic_load_n(&probe_asked, __ATOMIC_ACQUIRE))
            after = 0;
        void *p = malloc(64);
        sink += (uintptr_t)p;
        free(p);
        uint64_t u = bench_now_ns();
        if (u - t > max)
            max = u - t;
        /* the tick looks for a request at least every 16 hooks: one of
         * these iterations started the writer */
        if (after >= 0 && after < 16 && u - t > start_max)
            start_max = u - t;
        after += after >= 0;
        t = u;
        ops++;
    }
    probe_max = max;
    probe_ops = ops;
    probe_start_max = start_max;
    return NULL;
}

/* Whether the snapshot writer (a thread named "memscope") runs, read
 * without allocating (an allocation of this thread would start the writer
 * instead of the probe's): the names of /proc/self/task/TID/comm, the
 * directory read with getdents64. Not a thread count: one that ended just
 * before (the last probe) may still be listed, and hid the writer. */
static int
writer_runs(void)
{
    char buf[8192];
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int found = 0;
    long n;
    while (!found && (n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
        for (long off = 0; off < n && !found;) {
            struct { uint64_t ino; int64_t off; unsigned short len;
                     unsigned char type; char name[]; } *d = (void *)(buf + off);
            off += d->len;
            if (d->name[0] < '0' || d->name[0] > '9')
                continue;
            char path[64], comm[32];
            snprintf(path, sizeof(path), "/proc/self/task/%s/comm", d->name);
            int c = open(path, O_RDONLY | O_CLOEXEC);
            if (c < 0)
                continue;       /* gone meanwhile */
            ssize_t k = read(c, comm, sizeof(comm) - 1);
            close(c);
            found = k == 9 && memcmp(comm, "memscope\n", 9) == 0;
        }
    }
    close(fd);
    return found;
}

/* Whether the first snapshot's report is there (under the default name):
 * for a writer that came and went between two looks. */
static int
snapshot_written(void)
{
    const char *dir = getenv("MEMSCOPE_OUT");
    char path[4096];
    struct stat st;
    return dir != NULL && (size_t)snprintf(path, sizeof(path),
        "%s/export_bench-%d.snapshot-1.bin", dir, (int)getpid()) < sizeof(path) &&
        stat(path, &st) == 0;
}

/* One probe run; with snap, a snapshot meanwhile. */
static void
pause_run(int snap, uint64_t *max, uint64_t *ops, uint64_t *snap_ns,
    uint64_t *start_ns, uint64_t *start_cost)
{
    pthread_t th;
    __atomic_store_n(&probe_stop, 0, __ATOMIC_RELAXED);
    if ((errno = pthread_create(&th, NULL, probe, NULL)) != 0)
        bench_die("pthread_create");
    struct timespec ms10 = { 0, 10000000L };
    nanosleep(&ms10, NULL);
    uint64_t t0 = bench_now_ns(), seen = 0;
    if (snap) {
        raise(SIGUSR1);
        __atomic_store_n(&probe_asked, 1, __ATOMIC_RELEASE);
        for (;;) {
            struct timespec ms1 = { 0, 1000000L };
            nanosleep(&ms1, NULL);
            int w = writer_runs();
            if (w && seen == 0)
                seen = bench_now_ns();
            if (!w && (seen != 0 || snapshot_written()))
                break;
            if (bench_now_ns() - t0 > 600000000000ull)
                bench_die("snapshot writer still running after 600 s");
        }
        *snap_ns = bench_now_ns() - t0;
        *start_ns = seen != 0 ? seen - t0 : 0;    /* 0: not seen running */
    } else {
        struct timespec s1 = { 1, 0 };
        nanosleep(&s1, NULL);
    }
    __atomic_store_n(&probe_stop, 1, __ATOMIC_RELAXED);
    pthread_join(th, NULL);
    *max = probe_max;
    *ops = probe_ops;
    *start_cost = probe_start_max;
}

int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s LIVE_BLOCKS OUT_DIR [THREADS]\n", argv[0]);
        return 2;
    }
    long live = bench_arg(argc, argv, 1, 1000000);
    const char *dir = argv[2];
    int threads = (int)bench_arg(argc, argv, 3, 8);
    if (!memscope_is_tracing()) {
        fprintf(stderr, "export_bench: memscope is not tracing\n");
        return 1;
    }
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, (unsigned)threads + 1);
    pthread_t *tid = calloc((size_t)threads, sizeof(*tid));
    arg_t *args = calloc((size_t)threads, sizeof(*args));
    if (tid == NULL || args == NULL)
        bench_die("calloc");
    long per = live / threads;
    for (int i = 0; i < threads; i++) {
        long count = i == threads - 1 ? live - per * (threads - 1) : per;
        args[i] = (arg_t){ per * i, count, malloc((size_t)count * sizeof(void *)), &bar };
        if (args[i].blocks == NULL)
            bench_die("malloc");
        if ((errno = pthread_create(&tid[i], NULL, worker, &args[i])) != 0)
            bench_die("pthread_create");
    }
    pthread_barrier_wait(&bar);
    memscope_snapshot_t snap;
    memset(&snap, 0, sizeof(snap));
    memscope_get_snapshot(&snap);
    printf("LIVE live_blocks=%lld live_bytes=%lld threads=%llu sites=%d\n",
        (long long)snap.live_blocks, (long long)snap.live_bytes,
        (unsigned long long)snap.threads, SITES);
    static const struct { const char *name, *ext; unsigned bit; } fmts[] = {
        { "bin", "bin", MEMSCOPE_FORMAT_BIN },
        { "json", "json", MEMSCOPE_FORMAT_JSON },
        { "html", "html", MEMSCOPE_FORMAT_HTML },
        { "md", "md", MEMSCOPE_FORMAT_MD },
        { "folded", "folded", MEMSCOPE_FORMAT_FOLDED },
        { "pprof", "pb.gz", MEMSCOPE_FORMAT_PPROF },
    };
    for (size_t f = 0; f < sizeof(fmts) / sizeof(fmts[0]); f++)
        export_one(dir, fmts[f].name, fmts[f].bit, fmts[f].ext);
    /* every format in one call: the report is built once */
    uint64_t t0 = bench_now_ns();
    int rc = memscope_export(dir, "all", MEMSCOPE_FORMAT_ALL);
    uint64_t t1 = bench_now_ns();
    printf("EXPORT format=all rc=%d ns=%llu bytes=-1\n", rc,
        (unsigned long long)(t1 - t0));
    fflush(stdout);
    /* bin with the leak classes: less bin's own time, what the scan of
     * every live block costs (in a copy of the process) */
    t0 = bench_now_ns();
    rc = memscope_export(dir, "leaks", MEMSCOPE_FORMAT_BIN | MEMSCOPE_EXPORT_LEAKS);
    t1 = bench_now_ns();
    printf("EXPORT format=bin+leaks rc=%d ns=%llu bytes=-1\n", rc,
        (unsigned long long)(t1 - t0));
    fflush(stdout);
    uint64_t bmax, bops, smax, sops, sns = 0, start = 0, cost = 0, unused;
    pause_run(0, &bmax, &bops, &unused, &unused, &unused);
    pause_run(1, &smax, &sops, &sns, &start, &cost);
    printf("PAUSE base_max_ns=%llu base_ops=%llu snap_max_ns=%llu snap_ops=%llu "
        "snap_ns=%llu start_ns=%llu start_cost_ns=%llu\n",
        (unsigned long long)bmax, (unsigned long long)bops,
        (unsigned long long)smax, (unsigned long long)sops,
        (unsigned long long)sns, (unsigned long long)start,
        (unsigned long long)cost);
    fflush(stdout);
    pthread_barrier_wait(&bar);
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        free(args[i].blocks);
    }
    pthread_barrier_destroy(&bar);
    free(args);
    free(tid);
    return 0;
}
