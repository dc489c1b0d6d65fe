/*
 * fork.h - one registry of fork handlers. Every module of the tracer that
 * has a lock joins it, next to the lock (MS_FORK_JOIN), so that no lock
 * can be held by a thread that fork() does not copy: before fork each
 * module's prepare takes its locks, in the order of the ranks below (the
 * order in which the tracer nests them: outermost first); after it, parent
 * gives them back and child makes them new, in the reverse order.
 */
#ifndef MS_FORK_H
#define MS_FORK_H

typedef enum {
    MS_FORK_TRIGGERS = 0,   /* triggers.c: last in the child, where it
                               forgets the parent's snapshot requests and
                               makes its retry timer once every lock is
                               new */
    MS_FORK_EXPORT,         /* export.c: export_mu, around a whole report */
    MS_FORK_API,            /* api.c: tasks and variables */
    MS_FORK_STACKS,         /* stacks.c: the stack table */
    MS_FORK_THREADS,        /* threads.c: the registry, every inbox */
    MS_FORK_HEAPERR,        /* heaperr.c: the heap errors (a leaf) */
    MS_FORK_TIMELINE,       /* timeline.c: the points (a leaf) */
    MS_FORK_RANKS
} ms_fork_rank_t;

typedef struct {
    void (*prepare)(void);  /* takes the module's locks */
    void (*parent)(void);   /* gives them back */
    void (*child)(void);    /* makes them new; the child has one thread */
} ms_fork_handler_t;

/* Joins the registry at rank (one module per rank); called before main,
 * from MS_FORK_JOIN. */
void ms_fork_join(ms_fork_rank_t rank, const ms_fork_handler_t *h);

/* Installs the registry's handlers with pthread_atfork, once, at start-up
 * (triggers.c). */
void ms_fork_install(void);

/* Makes a module join the registry when the library loads. */
#define MS_FORK_JOIN(rank, prepare, parent, child)                          \
    static const ms_fork_handler_t ms_fork_h_ = { prepare, parent, child }; \
    __attribute__((constructor)) static void ms_fork_join_(void)           \
    {                                                                       \
        ms_fork_join(rank, &ms_fork_h_);                                    \
    }

#endif
