// rel_tls.cc - C++ destructors that allocate at thread exit and at process
// exit, for tests/integration/rel_exit.sh: thread_local objects (in worker
// threads and in main, whose destructors run inside exit()), a function-
// local static and a global whose destructors run among the exit
// handlers, and __thread pointers freed by a thread_local's destructor.
// stdout is the same with and without the library.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

std::atomic<long> dtor_bytes{0};
std::atomic<int> dtors{0};
__thread char *raw_tls;         // a plain C-style TLS pointer

struct Noisy {
    std::vector<std::string> items;
    std::map<int, std::string> index;
    explicit Noisy(int n) {
        for (int i = 0; i < n; i++) {
            items.push_back(std::string(static_cast<size_t>(20 + i % 200), 'a' + i % 26));
            index[i] = items.back();
        }
    }
    ~Noisy() {
        // allocates while being destroyed: a report may be in progress
        std::string joined;
        for (const auto &s : items)
            joined += s;
        std::vector<char> copy(joined.begin(), joined.end());
        dtor_bytes += static_cast<long>(copy.size());
        free(raw_tls);
        raw_tls = nullptr;
        dtors++;
    }
};

thread_local Noisy *unused_ptr = nullptr;

Noisy &tls_object() {
    thread_local Noisy n(300);
    return n;
}

struct GlobalNoisy {
    std::string name = std::string(1000, 'g');
    ~GlobalNoisy() {
        std::vector<std::string> v;
        for (int i = 0; i < 1000; i++)
            v.emplace_back(name.substr(0, static_cast<size_t>(i)));
        std::printf("global destructor ran (%zu strings)\n", v.size());
    }
} global_noisy;

Noisy &static_object() {
    static Noisy s(500);
    return s;
}

}  // namespace

int main() {
    std::vector<std::thread> ts;
    for (int t = 0; t < 16; t++) {
        ts.emplace_back([t] {
            raw_tls = static_cast<char *>(malloc(64 + static_cast<size_t>(t)));
            Noisy &n = tls_object();
            for (int i = 0; i < 2000; i++)
                n.index[i % 500] = std::to_string(i * t);
        });
    }
    for (auto &t : ts)
        t.join();
    std::printf("worker thread_local destructors: %d, %ld bytes\n", dtors.load(),
                dtor_bytes.load());
    raw_tls = static_cast<char *>(malloc(99));
    tls_object();      // main's thread_local: destroyed inside exit()
    static_object();   // destroyed among the exit handlers
    (void)unused_ptr;
    std::printf("main returns\n");
    return 0;
}
