// unwind_cxx.cc - C++ call stacks without frame pointers, for
// tests/integration/unwind.sh (built with plain `c++ -O2 -g -pthread`):
//   main -> cxx_top -> cxx_leaf -> operator new      CXX_N blocks of 611 bytes
//   main -> throw_from_handler -> operator new (too big) -> new-handler,
//           which throws; caught in main; then new works again
//   a std::thread: thread_body -> thread_leaf -> operator new, 622 bytes
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>
#include <vector>

#define NOINLINE __attribute__((noinline))
#define BARRIER() __asm__ volatile("" ::: "memory")

enum { CXX_N = 500 };
std::vector<char *> kept;       // global: the blocks are used
volatile size_t huge = (size_t)1 << 62;

NOINLINE char *cxx_leaf(size_t n) { char *p = new char[n]; BARRIER(); return p; }
NOINLINE char *cxx_top(size_t n) { char *p = cxx_leaf(n); BARRIER(); return p; }

struct handler_threw {};
static int handler_calls;
static void handler() { handler_calls++; std::set_new_handler(nullptr); throw handler_threw(); }

NOINLINE static int
throw_from_handler()
{
    std::set_new_handler(handler);
    try {
        char *p = new char[huge];
        kept.push_back(p);
    } catch (const handler_threw &) {
        return 1;
    }
    return 0;
}

NOINLINE static void thread_leaf() { kept.push_back(new char[622]); BARRIER(); }
NOINLINE static void thread_body() { thread_leaf(); BARRIER(); }

int
main()
{
    kept.reserve(CXX_N + 16);
    for (int i = 0; i < CXX_N; i++)
        kept.push_back(cxx_top(611));
    int caught = throw_from_handler();
    std::thread t(thread_body);
    t.join();
    std::string s(100, 'x');
    kept.push_back(cxx_top(s.size()));
    printf("caught %d, handler calls %d, %zu blocks\n", caught, handler_calls,
        kept.size());
    return caught == 1 ? 0 : 1;
}
