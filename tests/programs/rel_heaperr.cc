// rel_heaperr.cc - heap errors for memscope to find (exact mode), for
// tests/integration/rel_heaperr.sh and rel_heaperr_formats.sh. Each is
// made in a function of its own (bad_*), so the free stack names it; the
// block's allocation, where there is one, is in make_*.
//
//   rel_heaperr all         all eight, one after the other, then more work
//   rel_heaperr KIND        one: double_free, invalid_free, delete_malloc,
//                           delete_array_new, free_new_array, interior,
//                           double_free_xthread (a block of a live thread,
//                           freed twice by another), double_free_exited
//                           (a block of a thread that has exited), and,
//                           not in "all", wild_free and wild_free_edge
//                           (free of 0x100 and 0x3ff8: no heap below 16 KiB)
//
// For each error stdout gets "expect KIND ADDRESS ALLOC_KIND FREE_KIND"
// (ALLOC_KIND "-" when no block was allocated), then "survived" when the
// program got past it. Run only with the library preloaded: without it
// these calls corrupt glibc's heap.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"
#pragma GCC diagnostic ignored "-Wuse-after-free"

namespace {

char static_buffer[256];

// Keeps the compiler from reasoning about the pointer.
template <typename T> T *launder_ptr(T *p) {
    asm volatile("" : "+r"(p));
    return p;
}

void expect(const char *kind, const void *addr, const char *alloc, const char *how) {
    std::printf("expect %s 0x%llx %s %s\n", kind,
                static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(addr)),
                alloc, how);
    std::fflush(stdout);
}

__attribute__((noinline)) char *make_malloc(size_t n) {
    return launder_ptr(static_cast<char *>(std::malloc(n)));
}
__attribute__((noinline)) int *make_new() { return launder_ptr(new int(7)); }
__attribute__((noinline)) int *make_new_array() { return launder_ptr(new int[16]); }

__attribute__((noinline)) void bad_double_free() {
    char *p = make_malloc(48);
    std::free(p);
    expect("double_free", p, "malloc", "free");
    std::free(launder_ptr(p));
}

__attribute__((noinline)) void bad_invalid_free() {
    char *p = launder_ptr(static_buffer + 16);
    expect("invalid_free", p, "-", "free");
    std::free(p);
}

// Wild pointers in the first 16 KiB of the address space (no heap block
// is there): the lowest region of the tracer's table, which has none.
__attribute__((noinline)) void bad_wild_free() {
    char *p = launder_ptr(reinterpret_cast<char *>(0x100));
    expect("invalid_free", p, "-", "free");
    std::free(p);
}

__attribute__((noinline)) void bad_wild_free_edge() {
    char *p = launder_ptr(reinterpret_cast<char *>(0x3ff8));
    expect("invalid_free", p, "-", "free");
    std::free(p);
}

__attribute__((noinline)) void bad_delete_malloc() {
    int *p = reinterpret_cast<int *>(make_malloc(sizeof(int)));
    expect("mismatched_free", p, "malloc", "delete");
    delete launder_ptr(p);
}

__attribute__((noinline)) void bad_delete_array_new() {
    int *p = make_new();
    expect("mismatched_free", p, "new", "delete[]");
    delete[] launder_ptr(p);
}

__attribute__((noinline)) void bad_free_new_array() {
    int *p = make_new_array();
    expect("mismatched_free", p, "new[]", "free");
    std::free(launder_ptr(p));
}

__attribute__((noinline)) void bad_interior() {
    char *p = make_malloc(64);
    expect("interior_free", p + 16, "malloc", "free");
    std::free(launder_ptr(p + 16));
    std::free(p);       // the right free still works
}

// A block of another thread, still alive (the first free leaves it in that
// thread's inbox), freed twice.
__attribute__((noinline)) void bad_double_free_xthread() {
    std::mutex mu;
    std::condition_variable cv;
    char *p = nullptr;
    bool done = false;
    std::thread owner([&] {
        std::unique_lock<std::mutex> lk(mu);
        p = make_malloc(80);
        cv.notify_all();
        cv.wait(lk, [&] { return done; });
    });
    {
        std::unique_lock<std::mutex> lk(mu);
        cv.wait(lk, [&] { return p != nullptr; });
    }
    std::free(p);
    expect("double_free", p, "malloc", "free");
    std::free(launder_ptr(p));
    {
        std::lock_guard<std::mutex> lk(mu);
        done = true;
    }
    cv.notify_all();
    owner.join();
}

// A block of a thread that has exited, freed twice.
__attribute__((noinline)) void bad_double_free_exited() {
    char *p = nullptr;
    std::thread owner([&] { p = make_malloc(96); });
    owner.join();
    std::free(p);
    expect("double_free", p, "malloc", "free");
    std::free(launder_ptr(p));
}

// Work after the errors: the heap is sound.
void more_work() {
    std::vector<std::string> v;
    for (int i = 0; i < 20000; i++)
        v.push_back(std::string(static_cast<size_t>(i % 300), 'x'));
    size_t total = 0;
    for (const auto &s : v)
        total += s.size();
    std::printf("more work %zu\n", total);
}

}  // namespace

int main(int argc, char **argv) {
    struct { const char *name; void (*fn)(); } cases[] = {
        {"double_free", bad_double_free},
        {"invalid_free", bad_invalid_free},
        {"delete_malloc", bad_delete_malloc},
        {"delete_array_new", bad_delete_array_new},
        {"free_new_array", bad_free_new_array},
        {"interior", bad_interior},
        {"wild_free", bad_wild_free},
        {"wild_free_edge", bad_wild_free_edge},
        {"double_free_xthread", bad_double_free_xthread},
        {"double_free_exited", bad_double_free_exited},
    };
    const char *which = argc > 1 ? argv[1] : "all";
    int ran = 0;
    for (auto &c : cases) {
        // "all": the eight cases of the reports' tests, not the wild frees
        bool in_all = std::strncmp(c.name, "wild_", 5) != 0;
        if ((in_all && std::strcmp(which, "all") == 0) || std::strcmp(which, c.name) == 0) {
            c.fn();
            ran++;
        }
    }
    if (ran == 0) {
        std::fprintf(stderr, "rel_heaperr: unknown case %s\n", which);
        return 2;
    }
    more_work();
    std::printf("survived\n");
    return 0;
}
