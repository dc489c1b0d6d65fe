/*
 * threads.c - the registry of per-thread state.
 *
 * A thread's state is made on its first traced allocation, from the
 * tracer's arena, and is never freed: blocks it allocated may be freed by
 * others after it exits, and its figures belong in the report. The list is
 * only ever prepended to, with release stores, so readers may walk it
 * without a lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "fork.h"
#include "../engine/engine.h"

__thread ms_tls_t ms_tls MS_TLS;

static ms_thread_t *head;
static ms_thread_t *running;        /* under reg_mu */
static uint32_t next_id = 1;
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
int64_t ms_exited_live;
static pthread_key_t exit_key;
static int key_ok;

ms_thread_t *
ms_threads_head(void)
{
    return __atomic_load_n(&head, __ATOMIC_ACQUIRE);
}

/*
 * The holders (ms_holders): an array that only reg_mu's holder changes.
 * A reader loads the count, then the array: an entry is written before
 * the count that covers it, and a grown array is published before the
 * count past the old one, so every entry a reader reads is a thread's.
 * A grown array replaces the old, which is kept (a reader may be in it;
 * all the old ones hold fewer entries than the last). A thread leaves by
 * the last entry taking its place: a reader racing that may miss either,
 * and then walks the registry.
 */
static ms_thread_t **holders;
static uint32_t nholders, capholders;
static int holders_stale;          /* an ended thread's table emptied */

ms_thread_t **
ms_holders(uint32_t *n)
{
    *n = __atomic_load_n(&nholders, __ATOMIC_ACQUIRE);
    return __atomic_load_n(&holders, __ATOMIC_ACQUIRE);
}

void
ms_holders_emptied(void)
{
    if (!__atomic_load_n(&holders_stale, __ATOMIC_RELAXED))
        __atomic_store_n(&holders_stale, 1, __ATOMIC_RELAXED);
}

/* With reg_mu held; without memory t stays off (the registry's walk
 * finds its blocks). */
static void
holders_add(ms_thread_t *t)
{
    if (nholders == capholders) {
        uint32_t nc = capholders ? capholders * 2 : 64;
        ms_thread_t **a = ms_tcalloc(nc * sizeof(*a));
        if (a == NULL)
            return;
        if (nholders)
            memcpy(a, holders, nholders * sizeof(*a));
        __atomic_store_n(&holders, a, __ATOMIC_RELEASE);
        capholders = nc;
    }
    __atomic_store_n(&holders[nholders], t, __ATOMIC_RELAXED);
    t->holder = nholders + 1;
    __atomic_store_n(&nholders, nholders + 1, __ATOMIC_RELEASE);
}

static void
holders_remove(ms_thread_t *t)
{
    if (t->holder == 0)
        return;
    uint32_t i = t->holder - 1, last = nholders - 1;
    ms_thread_t *m = holders[last];
    __atomic_store_n(&holders[i], m, __ATOMIC_RELAXED);
    m->holder = i + 1;
    t->holder = 0;
    __atomic_store_n(&nholders, last, __ATOMIC_RELEASE);
}

/* Drops the ended threads whose tables are empty, once one emptied. Its
 * last destructors may yet make a block: the registry's walk finds it. */
static void
holders_sweep(void)
{
    if (!__atomic_load_n(&holders_stale, __ATOMIC_RELAXED))
        return;
    __atomic_store_n(&holders_stale, 0, __ATOMIC_RELAXED);
    for (uint32_t i = nholders; i-- > 0;) {
        ms_thread_t *t = holders[i];
        if (t->exited && __atomic_load_n(&t->table.count,
                __ATOMIC_RELAXED) == 0)
            holders_remove(t);
    }
}

/* With reg_mu held. */
static void
running_add(ms_thread_t *t)
{
    holders_sweep();
    holders_add(t);
    t->run_prev = NULL;
    t->run_next = running;
    if (running != NULL)
        running->run_prev = t;
    running = t;
}

/* Takes t off the running list and puts its live bytes in the ended
 * threads' sum, as it is marked exited (with reg_mu held). A thread's
 * live bytes change only by its own hooks, and by none while it ends
 * (busy): the sum is exact, and ms_live_add keeps it so after. */
static void
running_end(ms_thread_t *t)
{
    if (t->run_prev != NULL)
        t->run_prev->run_next = t->run_next;
    else if (running == t)
        running = t->run_next;
    if (t->run_next != NULL)
        t->run_next->run_prev = t->run_prev;
    t->run_prev = t->run_next = NULL;
    __atomic_add_fetch(&ms_exited_live, ms_thread_live(t), __ATOMIC_RELAXED);
    __atomic_store_n(&t->exited, 1, __ATOMIC_RELAXED);
    if (__atomic_load_n(&t->table.count, __ATOMIC_RELAXED) == 0)
        holders_remove(t);
    holders_sweep();
}

int64_t
ms_threads_live(void)
{
    int64_t live = 0;
    /* a try: a caller may hold it (or a handler may have interrupted its
     * holder); then the whole registry, as it was before the list */
    if (pthread_mutex_trylock(&reg_mu) != 0) {
        for (ms_thread_t *t = ms_threads_head(); t != NULL; t = t->next)
            live += ms_thread_live(t);
        return live;
    }
    live = __atomic_load_n(&ms_exited_live, __ATOMIC_RELAXED);
    for (ms_thread_t *t = running; t != NULL; t = t->run_next)
        live += ms_thread_live(t);
    pthread_mutex_unlock(&reg_mu);
    return live;
}

/*
 * The readers' slots. A foreign free names the table it reads in a slot
 * of its own (ms_table_peek_held), which the table's owner looks at before
 * it frees what it retired (ms_table_held). The registry keeps every
 * thread that ever ran; the slots are those of the threads that run now,
 * taken when a thread's state is made and given back at its exit, so an
 * owner reads as many as threads run at once (with the registry's, a
 * program that had started 8000 threads spent 63 % of its time there).
 * Each slot has its cache line: a free writes only its own. An exited
 * thread's last destructors share one more slot, under a lock, and so
 * does a thread that found none left (64k at once, or no memory).
 */
#define PEEK_CHUNK   64u
#define PEEK_CHUNKS  1024u
#define PEEK_NONE    UINT32_MAX

typedef struct {
    ms_table_t *table;          /* first: the slot is &table */
    uint32_t index, next_free;
    char pad[48];               /* a line each (a chunk is 4 KiB: jemalloc
                                   aligns that size class to it) */
} peek_slot_t;
_Static_assert(sizeof(peek_slot_t) == 64, "a slot a cache line");

static peek_slot_t *peek_chunk[PEEK_CHUNKS];
static uint32_t peek_used;          /* slots ever handed out */
static uint32_t peek_free = PEEK_NONE;
static peek_slot_t peek_late __attribute__((aligned(64)));
static ms_spin_t peek_late_lock;

/* A slot for a new thread, or NULL; under reg_mu. */
static ms_table_t **
peek_take(void)
{
    uint32_t i = peek_free;
    if (i != PEEK_NONE) {
        peek_slot_t *s = &peek_chunk[i / PEEK_CHUNK][i % PEEK_CHUNK];
        peek_free = s->next_free;
        return &s->table;
    }
    i = peek_used;
    if (i / PEEK_CHUNK >= PEEK_CHUNKS)
        return NULL;
    peek_slot_t *c = peek_chunk[i / PEEK_CHUNK];
    if (c == NULL) {
        c = ms_tcalloc(PEEK_CHUNK * sizeof(*c));
        if (c == NULL)
            return NULL;
        __atomic_store_n(&peek_chunk[i / PEEK_CHUNK], c, __ATOMIC_RELEASE);
    }
    c[i % PEEK_CHUNK].index = i;
    /* published before the thread can read any table through it */
    __atomic_store_n(&peek_used, i + 1, __ATOMIC_SEQ_CST);
    return &c[i % PEEK_CHUNK].table;
}

/* Gives a slot back (its thread exited, outside any read); under reg_mu. */
static void
peek_give(ms_table_t **slot)
{
    peek_slot_t *s = (peek_slot_t *)(void *)slot;
    s->next_free = peek_free;
    peek_free = s->index;
}

int
ms_table_held(const ms_table_t *t)
{
    if (__atomic_load_n(&peek_late.table, __ATOMIC_ACQUIRE) == t)
        return 1;
    uint32_t n = __atomic_load_n(&peek_used, __ATOMIC_SEQ_CST);
    for (uint32_t i = 0; i < n; i += PEEK_CHUNK) {
        const peek_slot_t *c = __atomic_load_n(&peek_chunk[i / PEEK_CHUNK],
            __ATOMIC_ACQUIRE);
        uint32_t m = n - i < PEEK_CHUNK ? n - i : PEEK_CHUNK;
        for (uint32_t j = 0; j < m; j++)
            if (__atomic_load_n(&c[j].table, __ATOMIC_ACQUIRE) == t)
                return 1;
    }
    return 0;
}

ms_table_t **
ms_peek_late_enter(void)
{
    ms_spin_lock(&peek_late_lock);
    return &peek_late.table;
}

void
ms_peek_late_leave(void)
{
    ms_spin_unlock(&peek_late_lock);
}

/* fork: the registry and every inbox are held across it. */
static void
fork_prepare(void)
{
    pthread_mutex_lock(&reg_mu);
    for (ms_thread_t *t = ms_threads_head(); t != NULL; t = t->next)
        ms_spin_lock(&t->inbox.lock);
}

static void
fork_parent(void)
{
    for (ms_thread_t *t = ms_threads_head(); t != NULL; t = t->next)
        ms_spin_unlock(&t->inbox.lock);
    pthread_mutex_unlock(&reg_mu);
}

/* Reads /proc/self/task/TID/comm without allocating. */
static void
read_comm(ms_thread_t *t)
{
    char path[64], buf[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d/comm", (int)t->tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    /* apart from a name the program gave, which a report reading this
     * while the thread names itself would otherwise overwrite */
    size_t k = strlen(buf);
    if (k >= sizeof(t->comm))
        k = sizeof(t->comm) - 1;        /* the kernel keeps 15 */
    memcpy(t->comm, buf, k);
    t->comm[k] = '\0';
}

/* The calling thread's own name, t its state: one prctl, where read_comm
 * opens, reads and closes a file of /proc (two of each a thread, at its
 * start and at its end, were most of what the tracer added to a short
 * thread's life: about 60 us). */
static void
own_comm(ms_thread_t *t)
{
    char buf[32] = { 0 };   /* the kernel writes 16 at most, NUL included */
    if (prctl(PR_GET_NAME, buf, 0, 0, 0) != 0)
        return;
    size_t k = strnlen(buf, sizeof(t->comm) - 1);
    memcpy(t->comm, buf, k);
    t->comm[k] = '\0';
}

void
ms_thread_set_name(ms_thread_t *t, const char *name)
{
    snprintf(t->name, sizeof(t->name), "%s", name);
    __atomic_store_n(&t->name_set, 1, __ATOMIC_RELEASE);
}

void
ms_threads_refresh_names(void)
{
    for (ms_thread_t *t = ms_threads_head(); t != NULL; t = t->next)
        if (!t->exited && t->pid == getpid())
            read_comm(t);
}

/* At thread exit the table becomes an orphan: from now on whoever
 * changes it (the thread's last destructors, or a thread freeing one of
 * its blocks) holds the inbox lock. */
static void
thread_exit(void *arg)
{
    ms_thread_t *t = arg;
    int busy = ms_tls_busy;
    ms_tls_busy = 1;
    own_comm(t);
    ms_inbox_drain(t);
    ms_spin_lock(&t->inbox.lock);
    t->inbox.orphan = 1;
    ms_spin_unlock(&t->inbox.lock);
    ms_inbox_drain(t);
    /* The walks kept for replay (ms_stack_replay, 173 KB) are the owner's
     * alone and of no use once it has gone; a walk of its last
     * destructors is not kept (ms_stack_walk_keep). Freed before the
     * freeze, which takes the tracer's own frees off the thread's. */
    ms_replay_cache_t *c = t->replay;
    t->replay = NULL;
    ms_tfree(c);
    /* its readers' slot goes back; a foreign free of its last
     * destructors reads through the late slot */
    ms_table_t **slot = t->peek;
    __atomic_store_n(&t->peek, NULL, __ATOMIC_RELAXED);
    if (slot != NULL) {
        pthread_mutex_lock(&reg_mu);
        peek_give(slot);
        pthread_mutex_unlock(&reg_mu);
    }
    /* so is its site cache (16 KiB): the last destructors' blocks find
     * their sites without it */
    struct ms_scache *sc = t->scache;
    t->scache = ms_scache_none;
    if (sc != ms_scache_none)
        ms_tfree(sc);
    ms_foreign_drop(t);         /* and its foreign frees' caches */
    ms_thread_freeze(t);
    pthread_mutex_lock(&reg_mu);
    running_end(t);
    pthread_mutex_unlock(&reg_mu);
    ms_tls_busy = busy;
}

void
ms_threads_init(void)
{
    if (!key_ok && pthread_key_create(&exit_key, thread_exit) == 0)
        key_ok = 1;
}

/* Makes the calling thread's state; called with ms_tls_busy set. */
static ms_thread_t *
thread_new(void)
{
    ms_thread_t *t = ms_tcalloc_line(sizeof(*t));
    if (t == NULL)
        return NULL;
    t->tid = (pid_t)syscall(SYS_gettid);
    t->pid = getpid();
    t->rng = ((uint64_t)t->tid << 32) ^ ms_now_precise_ns() ^ (uintptr_t)t;
    t->sample_left = -1;        /* drawn on first use */
    t->scache = ms_scache_none; /* made at the first miss */
    size_t len = sizeof(t->je_allocp);
    if (ms_je_mallctl("thread.allocatedp", &t->je_allocp, &len, NULL, 0) != 0 ||
        ms_je_mallctl("thread.deallocatedp", &t->je_deallocp, &len, NULL, 0) != 0)
        t->je_allocp = t->je_deallocp = NULL;
    t->tcb = (uintptr_t)__builtin_thread_pointer();
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void *addr;
        size_t size;
        if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
            t->stack_lo = (uintptr_t)addr;
            t->stack_hi = (uintptr_t)addr + size;
        }
        pthread_attr_destroy(&attr);
    }
    if (t->stack_hi == 0) {     /* unknown: allow only our own frame area */
        uintptr_t here = (uintptr_t)__builtin_frame_address(0);
        t->stack_lo = here - 4096;
        t->stack_hi = here + (1u << 20);
    }
    own_comm(t);
    pthread_mutex_lock(&reg_mu);
    t->peek = peek_take();          /* NULL: the late slot's lock */
    t->id = next_id++;
    t->next = head;
    __atomic_store_n(&head, t, __ATOMIC_RELEASE);
    running_add(t);
    pthread_mutex_unlock(&reg_mu);
    /* the thread's counters start here: what the state took (the readers'
     * slots' chunk too) is the tracer's, not the program's */
    if (t->je_allocp != NULL) {
        t->je_base_alloc = *t->je_allocp;
        t->je_base_dealloc = *t->je_deallocp;
    }
    if (key_ok)
        pthread_setspecific(exit_key, t);
    return t;
}

ms_thread_t *
ms_thread_self(void)
{
    ms_thread_t *t = ms_tls_self;
    if (t != NULL)
        return t;
    if (ms_tls_busy)
        return NULL;
    ms_tls_busy = 1;
    t = thread_new();
    ms_tls_self = t;
    ms_tls_busy = 0;
    return t;
}

/* After fork the child's only thread is the one that forked. */
static void
fork_child(void)
{
    pthread_mutex_init(&reg_mu, NULL);
    peek_late.table = NULL;
    peek_late_lock.v = 0;
    ms_thread_t *me = ms_tls_self;
    for (ms_thread_t *t = ms_threads_head(); t != NULL; t = t->next) {
        t->inbox.lock.v = 0;
        t->table.readers = 0;   /* no reader survives fork */
        if (t->peek != NULL)
            *t->peek = NULL;
        t->pid = getpid();
        if (t != me) {
            /* fork copied no thread but this one: a table another thread
             * was changing may be half-changed, and its inbox is ours */
            if (!t->exited)
                running_end(t);
            t->inbox.orphan = 1;
            if (t->table.seq & 1)
                ms_table_repair(&t->table);
        }
    }
    if (me != NULL)
        me->tid = (pid_t)syscall(SYS_gettid);
}

MS_FORK_JOIN(MS_FORK_THREADS, fork_prepare, fork_parent, fork_child);
