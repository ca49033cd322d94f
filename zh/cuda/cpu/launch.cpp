// Runs a kernel compiled against cuda_cpu.h: each block of the grid in turn, all of its threads
// meeting at every __syncthreads(). Two builds of this file (zh/cuda/cpu/__init__.py makes them):
//   ZH_TRACE  a shared library for ctypes. The kernel is compiled with gcc's -fsanitize=thread
//             instrumentation, which calls __tsan_read4(address) before each 4-byte load and so
//             on; this file defines those functions and counts the accesses that fall in the
//             launch's arrays and the kernel's __shared__ arrays, and (on request) logs who
//             touched what, in order. A block's threads are fibers taking turns, one barrier at
//             a time.
//   ZH_MAIN   an executable for the ASan+UBSan and TSan builds, which need their runtime from the
//             start of a process (arrays in and out through files). Each thread of a block is a
//             real std::thread, and __syncthreads() one C++20 std::barrier, so ThreadSanitizer
//             sees exactly the synchronisation a GPU gives.
#include <atomic>
#include <barrier>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#ifdef ZH_TRACE
#include <ucontext.h>
#endif

#include "cuda_cpu.h"

thread_local uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;

namespace {

#ifdef ZH_TRACE
// One array of the launch: A, B, C in global memory, or a __shared__ array of the kernel.
struct Region {
    uintptr_t lo, hi;
    int32_t *reads, *writes;  // per float element
    int shared;
};
struct Event {
    int32_t region, index, width, write, block, thread, seq, phase;
};
std::vector<Region> regions;
int record_block = -2;  // flat block id whose accesses are logged; -1 every block, -2 none
std::vector<std::vector<Event>> logs;  // one per thread of the block
std::vector<Event> *my_log;
int32_t my_block, my_thread, my_seq, my_phase;  // of the fiber running now

void poison_shared() {
    for (const Region &r : regions)
        if (r.shared)
            std::fill((float *)r.lo, (float *)r.hi, std::numeric_limits<float>::quiet_NaN());
}

void touch(uintptr_t address, size_t bytes, int write) {
    for (size_t id = 0; id < regions.size(); ++id) {
        const Region &r = regions[id];
        if (address < r.lo || address >= r.hi)
            continue;
        const int32_t index = (address - r.lo) / 4, width = bytes < 4 ? 1 : bytes / 4;
        int32_t *counts = write ? r.writes : r.reads;
        for (int32_t i = index; i < index + width && r.lo + 4 * i < r.hi; ++i)
            ++counts[i];
        if (my_log && (record_block == -1 || record_block == my_block))
            my_log->push_back({int32_t(id), index, width, write, my_block, my_thread, my_seq, my_phase});
        ++my_seq;
        return;
    }
}
#endif

using Kernel1 = void (*)(const float *, const float *, float *, int);
using Kernel3 = void (*)(const float *, const float *, float *, int, int, int);

struct Call {
    void *kernel;
    int nints;
    const float *A, *B;
    float *C;
    const int *ints;
    void operator()() const {
        if (nints == 1)
            reinterpret_cast<Kernel1>(kernel)(A, B, C, ints[0]);
        else
            reinterpret_cast<Kernel3>(kernel)(A, B, C, ints[0], ints[1], ints[2]);
    }
};

std::string divergence(unsigned synced, unsigned threads) {
    return "block (" + std::to_string(blockIdx.x) + ", " + std::to_string(blockIdx.y) + ", " +
           std::to_string(blockIdx.z) + "): " + std::to_string(synced) + " of " + std::to_string(threads) +
           " threads reached __syncthreads(), the others the end of the kernel";
}

void set_block(unsigned b) {
    blockIdx = {b % gridDim.x, b / gridDim.x % gridDim.y, b / (gridDim.x * gridDim.y)};
#ifdef ZH_TRACE
    my_block = b;
#endif
}

void set_thread(unsigned t) {
    threadIdx = {t % blockDim.x, t / blockDim.x % blockDim.y, t / (blockDim.x * blockDim.y)};
#ifdef ZH_TRACE
    my_log = &logs[t];
    my_thread = t;
#endif
}

#ifdef ZH_TRACE
// The trace build runs a block's threads as fibers on one OS thread (ucontext), each until it
// reaches __syncthreads() or the end: the same meeting points as a barrier, deterministic, and
// without an OS context switch per thread per barrier.
struct Fiber {
    ucontext_t context;
    std::vector<char> stack = std::vector<char>(64 * 1024);
    bool synced = false, done = false;
    int32_t seq = 0;
};
ucontext_t scheduler;
Fiber *running;
const Call *call;

void fiber_main() {
    (*call)();
    running->done = true;
}

std::string run_blocks(const Call &kernel, unsigned threads, unsigned blocks) {
    std::vector<Fiber> fibers(threads);
    call = &kernel;
    for (unsigned b = 0; b < blocks; ++b) {
        set_block(b);
        poison_shared();  // each block's shared memory starts undefined
        for (Fiber &f : fibers) {
            getcontext(&f.context);
            f.context.uc_stack = {f.stack.data(), 0, f.stack.size()};
            f.context.uc_link = &scheduler;
            makecontext(&f.context, fiber_main, 0);
            f.done = false;
            f.seq = 0;
        }
        my_phase = 0;  // how many barriers the block has passed
        for (bool more = true; more; ++my_phase) {  // one pass: every thread runs to its next barrier or its end
            unsigned synced = 0;
            for (unsigned t = 0; t < threads; ++t) {
                Fiber &f = fibers[t];
                set_thread(t);
                my_seq = f.seq;
                f.synced = false;
                running = &f;
                swapcontext(&scheduler, &f.context);
                f.seq = my_seq;
                synced += f.synced;
            }
            if (synced != 0 && synced != threads)
                return divergence(synced, threads);
            more = synced == threads;
        }
    }
    return "";
}
}  // namespace

void __syncthreads() {
    running->synced = true;
    swapcontext(&running->context, &scheduler);
}
#else
// The sanitizer builds run each thread of a block as a std::thread; __syncthreads() is one
// std::barrier, whose completion step checks that all threads came from __syncthreads() or all
// from the end of the kernel (which starts the next block).
struct Abort {};  // unwinds a thread's kernel once the launch has failed

struct Launch {
    struct Phase {
        Launch *launch;
        void operator()() noexcept {
            const unsigned synced = launch->at_sync.exchange(0);
            if (synced != 0 && synced != launch->threads) {
                launch->error = divergence(synced, launch->threads);
                launch->failed = true;
            }
        }
    };
    unsigned threads;
    std::atomic<unsigned> at_sync{0};
    std::barrier<Phase> barrier;
    bool failed = false;
    std::string error;
    explicit Launch(unsigned n) : threads(n), barrier(n, Phase{this}) {}
};
Launch *current;

std::string run_blocks(const Call &kernel, unsigned threads, unsigned blocks) {
    Launch launch(threads);
    current = &launch;
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (unsigned t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            set_thread(t);
            for (unsigned b = 0; b < blocks && !launch.failed; ++b) {
                set_block(b);
                try {
                    kernel();
                } catch (const Abort &) {
                    return;
                }
                launch.barrier.arrive_and_wait();
            }
        });
    for (std::thread &t : pool)
        t.join();
    current = nullptr;
    return launch.error;
}
}  // namespace

void __syncthreads() {
    current->at_sync.fetch_add(1);
    current->barrier.arrive_and_wait();
    if (current->failed)
        throw Abort{};
}
#endif

namespace {
// Runs every block of the grid; returns an empty string or what went wrong.
std::string run(void *kernel, int nints, const float *A, const float *B, float *C, const int *ints,
                const unsigned *grid, const unsigned *block) {
    if (nints != 1 && nints != 3)
        return "a kernel takes three float arrays and 1 or 3 ints, not " + std::to_string(nints);
    gridDim = {grid[0], grid[1], grid[2]};
    blockDim = {block[0], block[1], block[2]};
    const unsigned threads = block[0] * block[1] * block[2];
#ifdef ZH_TRACE
    logs.assign(threads, {});
#endif
    return run_blocks(Call{kernel, nints, A, B, C, ints}, threads, grid[0] * grid[1] * grid[2]);
}
}  // namespace

#ifdef ZH_TRACE
// The hooks gcc's -fsanitize=thread instrumentation calls in the kernel's object file.
#define ZH_HOOKS(n)                                                                  \
    extern "C" void __tsan_read##n(void *p) { touch(uintptr_t(p), n, 0); }           \
    extern "C" void __tsan_write##n(void *p) { touch(uintptr_t(p), n, 1); }          \
    extern "C" void __tsan_unaligned_read##n(void *p) { touch(uintptr_t(p), n, 0); } \
    extern "C" void __tsan_unaligned_write##n(void *p) { touch(uintptr_t(p), n, 1); }
ZH_HOOKS(1)
ZH_HOOKS(2)
ZH_HOOKS(4)
ZH_HOOKS(8)
ZH_HOOKS(16)
extern "C" void __tsan_read_range(void *p, size_t n) { touch(uintptr_t(p), n, 0); }
extern "C" void __tsan_write_range(void *p, size_t n) { touch(uintptr_t(p), n, 1); }
extern "C" void __tsan_func_entry(void *) {}
extern "C" void __tsan_func_exit() {}
extern "C" void __tsan_init() {}

// The arrays to watch for the next launches: [lo, hi) with a read and a write count per float.
extern "C" void zh_trace_regions(int n, const uintptr_t *lo, const uintptr_t *hi, int32_t **reads,
                                 int32_t **writes, const int *shared) {
    regions.clear();
    for (int i = 0; i < n; ++i)
        regions.push_back({lo[i], hi[i], reads[i], writes[i], shared[i]});
}

// Which block's accesses the next launch logs (-1 all, -2 none).
extern "C" void zh_trace_record(int block) { record_block = block; }

// The logged accesses of the last launch, thread by thread: copies up to cap of them, returns how many there are.
extern "C" size_t zh_trace_events(Event *out, size_t cap) {
    size_t n = 0;
    for (const auto &log : logs)
        for (const Event &e : log)
            if (n++ < cap)
                out[n - 1] = e;
    return n;
}

// Launches kernel on a grid of blocks; returns 0, or 1 with the reason in err.
extern "C" int zh_launch(void *kernel, int nints, const float *A, const float *B, float *C, const int *ints,
                         const unsigned *grid, const unsigned *block, char *err, size_t errlen) {
    const std::string error = run(kernel, nints, A, B, C, ints, grid, block);
    std::snprintf(err, errlen, "%s", error.c_str());
    return !error.empty();
}
#endif

#ifdef ZH_MAIN
#include <dlfcn.h>

namespace {
float *read_floats(FILE *f, long n) {
    void *p = nullptr;
    // exactly n floats, 16-byte aligned like cudaMalloc's: one past the end is out of bounds
    if (posix_memalign(&p, 16, n * sizeof(float)) || std::fread(p, sizeof(float), n, f) != size_t(n))
        std::exit(2);
    return (float *)p;
}
}  // namespace

// kernel entry gx gy gz bx by bz in out nA nB nC int...: A, B, C from `in`, C to `out`.
int main(int argc, char **argv) {
    if (argc < 13) {
        std::fprintf(stderr, "usage: %s entry gx gy gz bx by bz in out nA nB nC int...\n", argv[0]);
        return 2;
    }
    void *kernel = dlsym(RTLD_DEFAULT, argv[1]);
    if (!kernel) {
        std::fprintf(stderr, "no kernel %s\n", argv[1]);
        return 2;
    }
    unsigned grid[3], block[3];
    for (int i = 0; i < 3; ++i) {
        grid[i] = std::atoi(argv[2 + i]);
        block[i] = std::atoi(argv[5 + i]);
    }
    FILE *in = std::fopen(argv[8], "rb");
    if (!in)
        return 2;
    const long n[3] = {std::atol(argv[10]), std::atol(argv[11]), std::atol(argv[12])};
    float *A = read_floats(in, n[0]), *B = read_floats(in, n[1]), *C = read_floats(in, n[2]);
    std::fclose(in);
    std::vector<int> ints;
    for (int i = 13; i < argc; ++i)
        ints.push_back(std::atoi(argv[i]));
    const std::string error = run(kernel, ints.size(), A, B, C, ints.data(), grid, block);
    if (!error.empty()) {
        std::fprintf(stderr, "%s\n", error.c_str());
        return 3;
    }
    FILE *out = std::fopen(argv[9], "wb");
    if (!out || std::fwrite(C, sizeof(float), n[2], out) != size_t(n[2]))
        return 2;
    std::fclose(out);
    std::free(A);
    std::free(B);
    std::free(C);
    return 0;
}
#endif
