/*
 * unwind_nest.c - call stacks through code without frame pointers, for
 * tests/integration/unwind.sh, which builds it with plain `cc -O2 -g`.
 *
 *   main -> top -> mid -> leaf -> malloc     LEAF_N blocks of 777 bytes
 *   main -> on_signal_stack -> raise -> (SIGUSR1 on a sigaltstack)
 *           handler -> sig_leaf -> malloc    one block of 555 bytes
 *   main -> run_coro -> swapcontext; on a makecontext stack:
 *           coro_main -> coro_leaf -> malloc one block of 333 bytes
 *   main -> inl_real -> (inlined) inl_outer -> (inlined) inl_inner ->
 *           malloc                           INL_N blocks of 999 bytes
 *   main -> use_lib(argv[1]) -> dlopen, lib_alloc -> malloc, dlclose:
 *           one block of 444 bytes, kept after the library is gone
 * The blocks stay live, so the live folded stacks show them.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#define LEAF_N 1000
#define INL_N 10
#define NOINLINE __attribute__((noinline))
/* keeps a call from being a tail call, so each function has a frame */
#define BARRIER() __asm__ volatile("" ::: "memory")

void *keep[LEAF_N + INL_N + 8];      /* global: the blocks are used, not optimized out */
int nkeep;

NOINLINE static void *
leaf(size_t n)
{
    void *p = malloc(n);
    BARRIER();
    return p;
}

NOINLINE static void *
mid(size_t n)
{
    void *p = leaf(n);
    BARRIER();
    return p;
}

NOINLINE static void *
top(size_t n)
{
    void *p = mid(n);
    BARRIER();
    return p;
}

static inline __attribute__((always_inline)) void *
inl_inner(size_t n)
{
    return malloc(n);
}

static inline __attribute__((always_inline)) void *
inl_outer(size_t n)
{
    return inl_inner(n);
}

void *last_inl;     /* a body unlike leaf's, so gcc does not fold them */

NOINLINE static void *
inl_real(size_t n)
{
    void *p = inl_outer(n);
    last_inl = p;
    BARRIER();
    return p;
}

NOINLINE static void
sig_leaf(void)
{
    keep[nkeep++] = malloc(555);
    BARRIER();
}

static void
handler(int sig)
{
    (void)sig;
    sig_leaf();
    BARRIER();
}

NOINLINE static void
on_signal_stack(void)
{
    static char altstack[1 << 16];
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    BARRIER();
}

static ucontext_t main_ctx, coro_ctx;

NOINLINE static void
coro_leaf(void)
{
    keep[nkeep++] = malloc(333);
    BARRIER();
}

static void
coro_main(void)
{
    coro_leaf();
    BARRIER();
    swapcontext(&coro_ctx, &main_ctx);
}

NOINLINE static void
run_coro(void)
{
    size_t size = 1 << 16;
    char *stack = malloc(size);         /* a coroutine stack on the heap */
    getcontext(&coro_ctx);
    coro_ctx.uc_stack.ss_sp = stack;
    coro_ctx.uc_stack.ss_size = size;
    coro_ctx.uc_link = &main_ctx;
    makecontext(&coro_ctx, coro_main, 0);
    swapcontext(&main_ctx, &coro_ctx);
    BARRIER();
    free(stack);
}

NOINLINE static int
use_lib(const char *path)
{
    void *h = dlopen(path, RTLD_NOW);
    if (h == NULL) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return -1;
    }
    void *(*f)(size_t) = (void *(*)(size_t))dlsym(h, "lib_alloc");
    if (f == NULL)
        return -1;
    keep[nkeep++] = f(444);
    dlclose(h);
    BARRIER();
    return 0;
}

int
main(int argc, char **argv)
{
    for (int i = 0; i < LEAF_N; i++)
        keep[nkeep++] = top(777);
    for (int i = 0; i < INL_N; i++)
        keep[nkeep++] = inl_real(999);
    on_signal_stack();
    run_coro();
    if (argc > 1 && use_lib(argv[1]) != 0)
        return 1;
    /* a second library at the same place, after the first is gone */
    if (argc > 2 && use_lib(argv[2]) != 0)
        return 1;
    printf("%d blocks\n", nkeep);
    return 0;
}
