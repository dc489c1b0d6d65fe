// cxx_containers.cc - an allocation-heavy C++ program for
// tests/integration/real_cxx.sh (and real_gcc.sh, which compiles it): some
// hundred thousand operations on std::map, std::string, std::vector,
// std::unordered_map, std::shared_ptr, std::list, std::deque, plus threads
// that hand blocks to each other, over-aligned new, and failing new. It
// prints a deterministic report ending in a checksum; real_cxx.sh runs it
// with and without libmemscope_malloc preloaded and compares.
//
// Usage: cxx_containers [SCALE]   (SCALE multiplies the sizes; default 1)
#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

std::uint64_t g_sum = 1469598103934665603ULL;

void mix(const void *p, std::size_t n) {
    const unsigned char *b = static_cast<const unsigned char *>(p);
    for (std::size_t i = 0; i < n; i++) {
        g_sum ^= b[i];
        g_sum *= 1099511628211ULL;
    }
}
void mix(const std::string &s) { mix(s.data(), s.size()); }

struct Rng {
    std::uint64_t s;
    explicit Rng(std::uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ULL + 1) {}
    std::uint64_t next() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return s;
    }
    std::uint64_t below(std::uint64_t n) { return next() % n; }
};

std::string make_word(Rng &r) {
    static const char *syl[] = {"ka", "ri", "to", "mu", "sen", "ba", "lo",
                                "xi", "pe", "dra", "qu", "zo"};
    std::string w;
    int parts = 1 + static_cast<int>(r.below(4));
    for (int i = 0; i < parts; i++)
        w += syl[r.below(12)];
    return w;
}

void report(const char *name, const std::string &line) {
    std::printf("%-10s %s\n", name, line.c_str());
    mix(line);
}

// ---- std::map and std::string --------------------------------------------
void test_map(int scale) {
    Rng r(1);
    std::map<std::string, std::vector<int>> m;
    for (int i = 0; i < 150000 * scale; i++)
        m[make_word(r) + "-" + std::to_string(r.below(500))].push_back(i);
    std::size_t total = 0;
    std::uint64_t acc = 0;
    for (auto &kv : m) {
        total += kv.second.size();
        acc = acc * 31 + kv.first.size() * 7 + kv.second.front();
    }
    // erase every third key, then look the rest up
    int k = 0;
    for (auto it = m.begin(); it != m.end();)
        it = (k++ % 3 == 0) ? m.erase(it) : std::next(it);
    Rng q(1);
    int hits = 0;
    for (int i = 0; i < 100000; i++)
        hits += m.count(make_word(q) + "-" + std::to_string(q.below(500))) != 0;
    std::ostringstream os;
    os << m.size() << " keys left, " << total << " values, acc " << acc
       << ", hits " << hits << ", first " << m.begin()->first << ", last "
       << m.rbegin()->first;
    report("map", os.str());
}

// ---- std::unordered_map ---------------------------------------------------
void test_unordered(int scale) {
    Rng r(2);
    std::unordered_map<std::string, std::string> um;
    std::unordered_map<std::uint64_t, std::uint64_t> nums;
    for (int i = 0; i < 120000 * scale; i++) {
        std::string key = make_word(r) + std::to_string(i % 5000);
        um[key] += static_cast<char>('a' + i % 26);
        nums[r.below(1 << 20)] += static_cast<std::uint64_t>(i);
    }
    for (int i = 0; i < 5000; i++)
        nums.erase(static_cast<std::uint64_t>(i) * 97);
    um.rehash(um.size() * 4);
    // order-independent summaries, and the sorted first keys
    std::uint64_t klen = 0, vlen = 0, nsum = 0;
    std::vector<std::string> keys;
    keys.reserve(um.size());
    for (auto &kv : um) {
        klen += kv.first.size();
        vlen += kv.second.size();
        keys.push_back(kv.first);
    }
    for (auto &kv : nums)
        nsum += kv.first ^ kv.second;
    std::sort(keys.begin(), keys.end());
    std::ostringstream os;
    os << um.size() << " strings (" << klen << "/" << vlen << " bytes), "
       << nums.size() << " numbers, xor-sum " << nsum << ", first "
       << keys.front() << " = " << um[keys.front()];
    report("unordered", os.str());
}

// ---- std::vector, growth, sort, strings ---------------------------------
void test_vector(int scale) {
    Rng r(3);
    std::vector<std::string> v;
    for (int i = 0; i < 100000 * scale; i++) {
        std::string s(5 + r.below(60), 'x');
        for (auto &c : s)
            c = static_cast<char>('a' + r.below(26));
        v.push_back(std::move(s));
    }
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    std::vector<std::vector<int>> nested(2000);
    for (int i = 0; i < 200000; i++)
        nested[r.below(nested.size())].push_back(i);
    std::size_t biggest = 0;
    for (auto &n : nested) {
        biggest = std::max(biggest, n.size());
        n.shrink_to_fit();
    }
    std::string joined;
    for (std::size_t i = 0; i < v.size(); i += 100)
        joined += v[i].substr(0, 3) + ",";
    mix(joined);
    std::ostringstream os;
    os << v.size() << " unique strings, first " << v.front().substr(0, 12)
       << ", biggest bucket " << biggest << ", joined " << joined.size();
    report("vector", os.str());
}

// ---- std::shared_ptr: a graph of shared nodes, weak back-links ----------
struct Node {
    int id;
    std::string name;
    std::vector<std::shared_ptr<Node>> kids;
    std::weak_ptr<Node> parent;
    Node(int i, std::string n) : id(i), name(std::move(n)) {}
};

int count_tree(const std::shared_ptr<Node> &n, std::uint64_t &acc) {
    int c = 1;
    acc = acc * 1000003 + static_cast<std::uint64_t>(n->id) + n->name.size();
    for (auto &k : n->kids)
        c += count_tree(k, acc);
    return c;
}

void test_shared(int scale) {
    Rng r(4);
    std::vector<std::shared_ptr<Node>> all;
    auto root = std::make_shared<Node>(0, "root");
    all.push_back(root);
    for (int i = 1; i < 80000 * scale; i++) {
        auto &parent = all[r.below(all.size())];
        auto n = std::make_shared<Node>(i, "n" + std::to_string(i));
        n->parent = parent;
        parent->kids.push_back(n);
        all.push_back(std::move(n));
    }
    // shared ownership churn
    std::vector<std::shared_ptr<Node>> copies;
    for (int i = 0; i < 200000; i++)
        copies.push_back(all[r.below(all.size())]);
    long maxuse = 0;
    for (auto &c : copies)
        maxuse = std::max(maxuse, c.use_count());
    copies.clear();
    std::uint64_t acc = 0;
    int n = count_tree(root, acc);
    int alive_parents = 0;
    for (auto &p : all)
        alive_parents += !p->parent.expired();
    // drop a subtree: its nodes die when the last owners go
    std::weak_ptr<Node> watch = root->kids.empty() ? root : root->kids[0];
    all.clear();
    if (!root->kids.empty())
        root->kids.erase(root->kids.begin());
    bool died = watch.expired();
    std::ostringstream os;
    os << n << " nodes, acc " << acc << ", " << alive_parents
       << " parents alive, max use " << (maxuse > 1 ? "shared" : "single")
       << ", subtree freed " << (died ? "yes" : "no");
    report("shared", os.str());
    // break the tree down iteratively (no deep recursion in destructors)
    std::vector<std::shared_ptr<Node>> todo{root};
    root.reset();
    while (!todo.empty()) {
        auto x = std::move(todo.back());
        todo.pop_back();
        for (auto &k : x->kids)
            todo.push_back(std::move(k));
        x->kids.clear();
    }
}

// ---- list, deque, set, unique_ptr ---------------------------------------
void test_misc(int scale) {
    Rng r(5);
    std::list<std::unique_ptr<std::string>> l;
    std::deque<int> d;
    std::set<std::pair<int, std::string>> s;
    for (int i = 0; i < 60000 * scale; i++) {
        l.push_back(std::make_unique<std::string>(make_word(r)));
        if (i % 3 == 0)
            l.pop_front();
        d.push_front(i);
        d.push_back(-i);
        if (i % 2)
            d.pop_front();
        s.emplace(static_cast<int>(r.below(100000)), make_word(r));
    }
    l.sort([](const std::unique_ptr<std::string> &a,
              const std::unique_ptr<std::string> &b) { return *a < *b; });
    long dsum = std::accumulate(d.begin(), d.end(), 0L);
    std::ostringstream os;
    os << l.size() << " list, " << *l.front() << ".." << *l.back() << ", deque "
       << d.size() << " sum " << dsum << ", set " << s.size() << " first "
       << s.begin()->first << s.begin()->second;
    report("misc", os.str());
}

// ---- threads handing shared_ptrs and strings to each other -------------
void test_threads(int scale) {
    constexpr int T = 4;
    std::mutex mu;
    std::vector<std::shared_ptr<std::string>> mailbox;
    std::atomic<long> total{0};
    std::vector<std::thread> th;
    for (int t = 0; t < T; t++)
        th.emplace_back([&, t] {
            Rng r(100 + static_cast<std::uint64_t>(t));
            std::map<int, std::string> local;
            long mine = 0;
            for (int i = 0; i < 30000 * scale; i++) {
                local[static_cast<int>(r.below(5000))] = make_word(r);
                auto msg = std::make_shared<std::string>(make_word(r));
                std::shared_ptr<std::string> got;
                {
                    std::lock_guard<std::mutex> g(mu);
                    mailbox.push_back(std::move(msg));
                    if (mailbox.size() > 64) {   // take (and free) another's
                        got = std::move(mailbox.front());
                        mailbox.erase(mailbox.begin());
                    }
                }
                if (got)
                    mine += static_cast<long>(got->size());
            }
            for (auto &kv : local)
                mine += kv.first + static_cast<long>(kv.second.size());
            total += mine;
        });
    for (auto &t : th)
        t.join();
    // total depends on the interleaving: report only what does not
    std::ostringstream os;
    os << T << " threads done, mailbox " << mailbox.size() << ", total "
       << (total.load() > 0 ? "positive" : "zero");
    report("threads", os.str());
}

// ---- over-aligned new, nothrow new, a failing new ----------------------
struct alignas(64) Cache {
    char bytes[64];
};
struct alignas(4096) Page {
    char bytes[4096];
};

void test_new() {
    std::vector<Cache> caches(1000);
    std::vector<std::unique_ptr<Page>> pages;
    int misaligned = 0;
    for (int i = 0; i < 200; i++) {
        pages.push_back(std::make_unique<Page>());
        misaligned += reinterpret_cast<std::uintptr_t>(pages.back().get()) % 4096 != 0;
        std::memset(pages.back()->bytes, i, sizeof(Page));
    }
    misaligned += reinterpret_cast<std::uintptr_t>(caches.data()) % 64 != 0;
    auto *arr = new (std::nothrow) Cache[300];
    misaligned += arr == nullptr ||
                  reinterpret_cast<std::uintptr_t>(arr) % 64 != 0;
    delete[] arr;

    bool threw = false;
    try {
        std::size_t huge = static_cast<std::size_t>(1) << 62;
        volatile char *p = new char[huge];
        p[0] = 1;
        delete[] p;
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    char *none = new (std::nothrow) char[static_cast<std::size_t>(1) << 62];
    std::ostringstream os;
    os << "misaligned " << misaligned << ", huge new threw " << (threw ? "yes" : "no")
       << ", nothrow huge new " << (none == nullptr ? "null" : "non-null");
    delete[] none;
    report("new", os.str());
}

}  // namespace

int main(int argc, char **argv) {
    int scale = argc > 1 ? std::max(1, std::atoi(argv[1])) : 1;
    test_map(scale);
    test_unordered(scale);
    test_vector(scale);
    test_shared(scale);
    test_misc(scale);
    test_threads(scale);
    test_new();
    std::printf("checksum   %016" PRIx64 "\n", g_sum);
    return 0;
}
