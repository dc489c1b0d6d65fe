// cxx_ops.cc - every standard form of operator new and delete, the
// new_handler protocol, and container workloads.
//
// Run plainly and with the library preloaded (tests/integration/
// cxx_operators.sh): stdout is a deterministic summary that must be the
// same both ways; the exit status is 0 only when every check passed.
// Failures are described on stderr.
//
// With CXX_OPS_EXPECT_LIB=TEXT in the environment it also checks (dladdr)
// that every operator the program calls resolves into a file whose name
// contains TEXT, and prints where they resolve.

#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <string>
#include <vector>

namespace {

int n_pass, n_fail;

void check(bool ok, const char *what, long detail = 0)
{
    if (ok) {
        n_pass++;
    } else {
        n_fail++;
        std::fprintf(stderr, "FAIL: %s (%ld)\n", what, detail);
    }
}

// Keeps the compiler from eliding a new/delete pair it can see through.
inline void escape(const void *p)
{
    asm volatile("" : : "r"(p) : "memory");
}

bool aligned(const void *p, std::size_t a)
{
    return (reinterpret_cast<std::uintptr_t>(p) & (a - 1)) == 0;
}

// Writes n bytes and reads them back.
bool usable(void *p, std::size_t n)
{
    auto *b = static_cast<unsigned char *>(p);
    for (std::size_t i = 0; i < n; i++)
        b[i] = static_cast<unsigned char>(i * 7 + 3);
    escape(p);
    for (std::size_t i = 0; i < n; i++)
        if (b[i] != static_cast<unsigned char>(i * 7 + 3))
            return false;
    return true;
}

// A size no allocator can serve, hidden from the optimizer.
volatile std::size_t huge_size = SIZE_MAX / 2;

struct Counted {
    static long live;
    long v;
    Counted() : v(live) { live++; }
    ~Counted() { live--; }
};
long Counted::live;

struct alignas(64) Line {
    char c[100];
    Line() { std::memset(c, 0x11, sizeof(c)); }
};

struct alignas(4096) Page {
    char c[10];
    Page() { c[0] = 1; }
};

// --- plain, array and nothrow forms ---------------------------------------

void test_plain()
{
    int *i = new int(42);
    escape(i);
    check(*i == 42, "new int");
    delete i;

    Counted *c = new Counted;
    check(Counted::live == 1, "new Counted constructs", Counted::live);
    delete c;
    check(Counted::live == 0, "delete Counted destroys", Counted::live);

    for (std::size_t n : { 0, 1, 7, 8, 16, 100, 4096, 100000, 3 << 20 }) {
        void *p = ::operator new(n);
        check(p != nullptr && aligned(p, n >= 16 ? 16 : 1) && usable(p, n),
            "operator new(n)", static_cast<long>(n));
        ::operator delete(p);
    }
    std::printf("plain new/delete: ok\n");
}

void test_array()
{
    Counted *a = new Counted[1000];
    check(Counted::live == 1000, "new Counted[1000]", Counted::live);
    check(a[999].v == 999, "new[] constructs in order", a[999].v);
    delete[] a;
    check(Counted::live == 0, "delete[] destroys all", Counted::live);

    char *s = new char[0];
    char *t = new char[0];
    check(s != nullptr && t != nullptr && s != t, "new char[0] unique");
    delete[] s;
    delete[] t;

    for (std::size_t n : { 0, 1, 100, 65536, 1 << 20 }) {
        void *p = ::operator new[](n);
        check(p != nullptr && usable(p, n), "operator new[](n)",
            static_cast<long>(n));
        ::operator delete[](p);
    }
    std::printf("array new[]/delete[]: ok\n");
}

void test_nothrow()
{
    int *i = new (std::nothrow) int(7);
    check(i != nullptr && *i == 7, "new (nothrow) int");
    delete i;
    Counted *a = new (std::nothrow) Counted[50];
    check(a != nullptr && Counted::live == 50, "new (nothrow) Counted[50]");
    delete[] a;
    check(Counted::live == 0, "delete[] after nothrow new[]");

    void *p = ::operator new(100, std::nothrow);
    check(p != nullptr && usable(p, 100), "operator new(100, nothrow)");
    ::operator delete(p, std::nothrow);
    p = ::operator new[](100, std::nothrow);
    check(p != nullptr && usable(p, 100), "operator new[](100, nothrow)");
    ::operator delete[](p, std::nothrow);

    // A request that cannot be met: nullptr, never an exception.
    check(::operator new(huge_size, std::nothrow) == nullptr,
        "operator new(huge, nothrow) returns nullptr");
    check(::operator new[](huge_size, std::nothrow) == nullptr,
        "operator new[](huge, nothrow) returns nullptr");
    check(::operator new(huge_size, std::align_val_t(64), std::nothrow)
        == nullptr, "operator new(huge, align 64, nothrow) returns nullptr");
    check(::operator new[](huge_size, std::align_val_t(4096), std::nothrow)
        == nullptr, "operator new[](huge, align 4096, nothrow) returns "
        "nullptr");
    std::printf("nothrow forms: ok\n");
}

// --- sized and aligned forms ------------------------------------------------

void test_sized_delete()
{
    for (std::size_t n : { 1, 24, 100, 5000, 70000, 2 << 20 }) {
        void *p = ::operator new(n);
        check(usable(p, n), "sized: operator new", static_cast<long>(n));
        ::operator delete(p, n);
        p = ::operator new[](n);
        check(usable(p, n), "sized: operator new[]", static_cast<long>(n));
        ::operator delete[](p, n);
    }
    // A class with a non-trivial destructor makes the compiler use sized
    // delete[] (with the array cookie counted in the size).
    Counted *c = new Counted;
    delete c;
    Counted *a = new Counted[33];
    delete[] a;
    check(Counted::live == 0, "sized: destructors ran", Counted::live);
    std::printf("sized delete: ok\n");
}

void test_aligned_types()
{
    Line *l = new Line;
    check(aligned(l, 64) && l->c[99] == 0x11, "new alignas(64)");
    delete l;
    Line *la = new Line[7];
    check(aligned(la, 64) && aligned(&la[6], 64) && la[6].c[0] == 0x11,
        "new alignas(64)[7]");
    delete[] la;

    Page *p = new Page;
    check(aligned(p, 4096) && p->c[0] == 1, "new alignas(4096)");
    delete p;
    Page *pa = new Page[3];
    check(aligned(pa, 4096) && pa[2].c[0] == 1, "new alignas(4096)[3]");
    delete[] pa;

    Line *ln = new (std::nothrow) Line;
    check(ln != nullptr && aligned(ln, 64), "new (nothrow) alignas(64)");
    delete ln;
    Page *pn = new (std::nothrow) Page[2];
    check(pn != nullptr && aligned(pn, 4096), "new (nothrow) alignas(4096)[2]");
    delete[] pn;

    // Many at once: none may share memory.
    std::vector<Line *> lines;
    for (int i = 0; i < 500; i++) {
        lines.push_back(new Line);
        std::memset(lines.back()->c, i & 0xff, sizeof(Line::c));
    }
    bool ok = true;
    for (int i = 0; i < 500; i++) {
        ok = ok && aligned(lines[i], 64) &&
            lines[i]->c[0] == static_cast<char>(i & 0xff) &&
            lines[i]->c[99] == static_cast<char>(i & 0xff);
        delete lines[i];
    }
    check(ok, "500 live alignas(64) objects");
    std::printf("aligned types: ok\n");
}

void test_aligned_explicit()
{
    int bad = 0, count = 0;
    for (std::size_t a = 1; a <= 8192; a <<= 1) {
        std::align_val_t al{a};
        for (std::size_t n : { std::size_t(0), std::size_t(1), std::size_t(8),
                 std::size_t(24), a - 1, a, a + 1, 3 * a + 5 }) {
            void *p = ::operator new(n, al);
            bool ok = p != nullptr && aligned(p, a) && usable(p, n);
            if (!ok && bad++ < 5)
                std::fprintf(stderr, "FAIL: operator new(%zu, align %zu) = %p\n",
                    n, a, p);
            ::operator delete(p, n, al);

            p = ::operator new[](n, al);
            ok = p != nullptr && aligned(p, a) && usable(p, n);
            if (!ok && bad++ < 5)
                std::fprintf(stderr, "FAIL: operator new[](%zu, align %zu) = %p\n",
                    n, a, p);
            ::operator delete[](p, n, al);

            p = ::operator new(n, al, std::nothrow);
            ok = p != nullptr && aligned(p, a) && usable(p, n);
            if (!ok && bad++ < 5)
                std::fprintf(stderr, "FAIL: operator new(%zu, align %zu, "
                    "nothrow) = %p\n", n, a, p);
            ::operator delete(p, al, std::nothrow);

            p = ::operator new[](n, al, std::nothrow);
            ok = p != nullptr && aligned(p, a) && usable(p, n);
            if (!ok && bad++ < 5)
                std::fprintf(stderr, "FAIL: operator new[](%zu, align %zu, "
                    "nothrow) = %p\n", n, a, p);
            ::operator delete[](p, al, std::nothrow);

            p = ::operator new(n, al);
            ::operator delete(p, al);           // unsized aligned delete
            p = ::operator new[](n, al);
            ::operator delete[](p, al);
            count += 6;
        }
    }
    check(bad == 0, "explicit aligned operator new", bad);
    std::printf("explicit aligned new/delete: %d calls\n", count);
}

// --- failure: bad_alloc and the new_handler ---------------------------------

void test_bad_alloc()
{
    int thrown = 0;
    try { escape(::operator new(huge_size)); } catch (const std::bad_alloc &) { thrown++; }
    try { escape(::operator new[](huge_size)); } catch (const std::bad_alloc &) { thrown++; }
    try { escape(::operator new(huge_size, std::align_val_t(64))); }
    catch (const std::bad_alloc &) { thrown++; }
    try { escape(::operator new[](huge_size, std::align_val_t(8192))); }
    catch (const std::bad_alloc &) { thrown++; }
    check(thrown == 4, "throwing new with a huge size throws bad_alloc",
        thrown);
    std::printf("bad_alloc thrown: %d of 4\n", thrown);
}

int handler_calls;

void handler_once()
{
    handler_calls++;
    std::set_new_handler(nullptr);
}

void test_new_handler()
{
    // Called once, then uninstalled: the retry fails and new throws.
    handler_calls = 0;
    std::set_new_handler(handler_once);
    bool thrown = false;
    try { escape(::operator new(huge_size)); } catch (const std::bad_alloc &) { thrown = true; }
    check(thrown, "new throws once the handler is gone");
    check(handler_calls == 1, "new_handler called once", handler_calls);
    check(std::get_new_handler() == nullptr, "handler uninstalled itself");

    // The array and aligned forms follow the same protocol.
    handler_calls = 0;
    std::set_new_handler(handler_once);
    thrown = false;
    try { escape(::operator new[](huge_size, std::align_val_t(64))); }
    catch (const std::bad_alloc &) { thrown = true; }
    check(thrown && handler_calls == 1, "aligned new[] calls the handler",
        handler_calls);

    // A nothrow new calls the handler too, then returns nullptr.
    handler_calls = 0;
    std::set_new_handler(handler_once);
    void *p = ::operator new(huge_size, std::nothrow);
    check(p == nullptr && handler_calls == 1, "nothrow new calls the handler",
        handler_calls);
    std::set_new_handler(nullptr);
    std::printf("new_handler: ok\n");
}

[[noreturn]] void handler_throws()
{
    throw std::bad_alloc();
}

// A handler that throws bad_alloc: a nothrow new must turn that into
// nullptr, not let it escape (it is noexcept). Run in a child, since an
// escaping exception terminates the program.
void test_nothrow_with_throwing_handler()
{
    std::fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        std::set_new_handler(handler_throws);
        int nulls = 0;
        nulls += ::operator new(huge_size, std::nothrow) == nullptr;
        nulls += ::operator new[](huge_size, std::nothrow) == nullptr;
        nulls += ::operator new(huge_size, std::align_val_t(64), std::nothrow)
            == nullptr;
        nulls += ::operator new[](huge_size, std::align_val_t(64),
            std::nothrow) == nullptr;
        _exit(nulls == 4 ? 0 : 1);
    }
    int st = 0;
    bool waited = pid > 0 && waitpid(pid, &st, 0) == pid;
    bool ok = waited && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    check(ok, "nothrow new with a throwing new_handler returns nullptr "
        "(child status)", st);
    std::printf("nothrow new with a throwing handler: %s\n",
        ok ? "nullptr" : "FAILED");
}

// --- standard library workloads --------------------------------------------

std::uint64_t fnv(std::uint64_t h, const void *data, std::size_t n)
{
    auto *b = static_cast<const unsigned char *>(data);
    for (std::size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

void test_map_workload()
{
    std::map<std::string, std::vector<int>> m;
    std::uint32_t x = 12345;
    for (int i = 0; i < 20000; i++) {
        x = x * 1103515245u + 12345u;
        std::string key = "key-" + std::to_string(x % 5000) + "-" +
            std::string(x % 37, 'k');
        std::vector<int> &v = m[key];
        for (int j = 0; j < static_cast<int>(x % 17); j++)
            v.push_back(i * 31 + j);
    }
    // Erase every third entry, grow the rest.
    int k = 0;
    for (auto it = m.begin(); it != m.end();) {
        if (k++ % 3 == 0) {
            it = m.erase(it);
        } else {
            it->second.resize(it->second.size() * 2 + 1, k);
            ++it;
        }
    }
    std::uint64_t h = 0xcbf29ce484222325ULL;
    std::size_t values = 0;
    for (const auto &e : m) {
        h = fnv(h, e.first.data(), e.first.size());
        h = fnv(h, e.second.data(), e.second.size() * sizeof(int));
        values += e.second.size();
    }
    std::printf("map<string, vector<int>>: %zu keys, %zu values, hash %016llx\n",
        m.size(), values, static_cast<unsigned long long>(h));
    check(!m.empty(), "map workload");
}

void test_string_vector_workload()
{
    std::string s;
    for (int i = 0; i < 100000; i++)
        s += static_cast<char>('a' + i % 26);
    std::string t = s.substr(1000, 50000) + s + s.substr(0, 3);
    std::uint64_t h = fnv(0xcbf29ce484222325ULL, t.data(), t.size());

    std::vector<std::string> words;
    std::uint32_t x = 777;
    for (int i = 0; i < 30000; i++) {
        x = x * 1664525u + 1013904223u;
        words.emplace_back(std::string(1 + x % 40, static_cast<char>('A' + x % 26)) +
            std::to_string(x));
    }
    std::sort(words.begin(), words.end());
    words.erase(std::unique(words.begin(), words.end()), words.end());
    for (const auto &w : words)
        h = fnv(h, w.data(), w.size());

    std::vector<long> big;
    for (long i = 0; i < 1000000; i++)
        big.push_back(i * i);
    big.shrink_to_fit();
    long sum = 0;
    for (long v : big)
        sum += v % 1000;
    std::vector<std::vector<long>> nested(200);
    for (int i = 0; i < 200; i++)
        nested[i].assign(static_cast<std::size_t>(i) * 50, i);
    for (const auto &v : nested)
        h = fnv(h, v.data(), v.size() * sizeof(long));

    std::printf("string/vector: %zu chars, %zu words, sum %ld, hash %016llx\n",
        t.size(), words.size(), sum, static_cast<unsigned long long>(h));
    check(t.size() == 150003 && big.size() == 1000000, "string/vector workload");
}

// --- where the operators resolve -------------------------------------------

int check_resolution(const char *expect)
{
    struct { const char *name; void *addr; } ops[] = {
#define OP(name, type, ...) { name, reinterpret_cast<void *>(static_cast<type>(__VA_ARGS__)) }
        OP("new(size_t)", void *(*)(std::size_t), &::operator new),
        OP("new[](size_t)", void *(*)(std::size_t), &::operator new[]),
        OP("new(size_t, nothrow)", void *(*)(std::size_t, const std::nothrow_t &) noexcept,
            &::operator new),
        OP("new[](size_t, nothrow)", void *(*)(std::size_t, const std::nothrow_t &) noexcept,
            &::operator new[]),
        OP("new(size_t, align)", void *(*)(std::size_t, std::align_val_t), &::operator new),
        OP("new[](size_t, align)", void *(*)(std::size_t, std::align_val_t), &::operator new[]),
        OP("new(size_t, align, nothrow)",
            void *(*)(std::size_t, std::align_val_t, const std::nothrow_t &) noexcept,
            &::operator new),
        OP("new[](size_t, align, nothrow)",
            void *(*)(std::size_t, std::align_val_t, const std::nothrow_t &) noexcept,
            &::operator new[]),
        OP("delete(void*)", void (*)(void *) noexcept, &::operator delete),
        OP("delete[](void*)", void (*)(void *) noexcept, &::operator delete[]),
        OP("delete(void*, size_t)", void (*)(void *, std::size_t) noexcept,
            &::operator delete),
        OP("delete[](void*, size_t)", void (*)(void *, std::size_t) noexcept,
            &::operator delete[]),
        OP("delete(void*, nothrow)", void (*)(void *, const std::nothrow_t &) noexcept,
            &::operator delete),
        OP("delete[](void*, nothrow)", void (*)(void *, const std::nothrow_t &) noexcept,
            &::operator delete[]),
        OP("delete(void*, align)", void (*)(void *, std::align_val_t) noexcept,
            &::operator delete),
        OP("delete[](void*, align)", void (*)(void *, std::align_val_t) noexcept,
            &::operator delete[]),
        OP("delete(void*, size_t, align)",
            void (*)(void *, std::size_t, std::align_val_t) noexcept, &::operator delete),
        OP("delete[](void*, size_t, align)",
            void (*)(void *, std::size_t, std::align_val_t) noexcept, &::operator delete[]),
        OP("delete(void*, align, nothrow)",
            void (*)(void *, std::align_val_t, const std::nothrow_t &) noexcept,
            &::operator delete),
        OP("delete[](void*, align, nothrow)",
            void (*)(void *, std::align_val_t, const std::nothrow_t &) noexcept,
            &::operator delete[]),
        OP("malloc", void *(*)(std::size_t) noexcept, &std::malloc),
        OP("free", void (*)(void *) noexcept, &std::free),
#undef OP
    };
    int wrong = 0;
    for (const auto &op : ops) {
        Dl_info info;
        const char *file = dladdr(op.addr, &info) != 0 && info.dli_fname
            ? info.dli_fname : "(unknown)";
        const char *base = std::strrchr(file, '/');
        base = base ? base + 1 : file;
        bool ok = std::strstr(file, expect) != nullptr;
        wrong += !ok;
        std::printf("resolves: %-34s %s%s\n", op.name, base, ok ? "" : "  WRONG");
    }
    check(wrong == 0, "operators resolve into the expected library", wrong);
    return wrong;
}

} // namespace

int main()
{
    test_plain();
    test_array();
    test_nothrow();
    test_sized_delete();
    test_aligned_types();
    test_aligned_explicit();
    test_bad_alloc();
    test_new_handler();
    test_nothrow_with_throwing_handler();
    test_map_workload();
    test_string_vector_workload();
    if (const char *expect = std::getenv("CXX_OPS_EXPECT_LIB"))
        check_resolution(expect);
    std::printf("checks: %d passed, %d failed\n", n_pass, n_fail);
    return n_fail == 0 ? 0 : 1;
}
