/*
 * fork.c - the registry of fork handlers (fork.h). The tracer's own
 * re-entry guard is held across fork too: what the handlers or libc's fork
 * allocate is never traced.
 */
#include <pthread.h>

#include "internal.h"
#include "fork.h"

static const ms_fork_handler_t *handlers[MS_FORK_RANKS];

void
ms_fork_join(ms_fork_rank_t rank, const ms_fork_handler_t *h)
{
    if (rank < MS_FORK_RANKS)
        handlers[rank] = h;
}

static void
on_prepare(void)
{
    ms_tls_busy++;
    for (int i = 0; i < MS_FORK_RANKS; i++)
        if (handlers[i] != NULL && handlers[i]->prepare != NULL)
            handlers[i]->prepare();
}

static void
on_parent(void)
{
    for (int i = MS_FORK_RANKS - 1; i >= 0; i--)
        if (handlers[i] != NULL && handlers[i]->parent != NULL)
            handlers[i]->parent();
    ms_tls_busy--;
}

static void
on_child(void)
{
    for (int i = MS_FORK_RANKS - 1; i >= 0; i--)
        if (handlers[i] != NULL && handlers[i]->child != NULL)
            handlers[i]->child();
    ms_tls_busy--;
}

void
ms_fork_install(void)
{
    pthread_atfork(on_prepare, on_parent, on_child);
}
