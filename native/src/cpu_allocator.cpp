// clif_device_cpu_cache_*: a caching allocator for libtorch's large CPU buffers.
//
// A UNet forward allocates and frees the same large activations (megabytes to a few hundred) at every layer and
// every step. glibc hands blocks that large back to the kernel when they are freed (mmap/munmap, or a trim of a
// thread's arena), so the next forward faults every page in again and the kernel zeroes it: a perf profile of the
// SD-1.5-sized UNet forward spent 23-29 % of its time in page faults and clear_page, in Clif and in the Python
// peer alike. Keeping freed large blocks for reuse, as libtorch's CUDA caching allocator does on the GPU, turns
// that time into work. Small blocks go to libtorch's own allocator: glibc's bins already reuse them.
//
// The cache holds at most `limit` bytes of free blocks (CLIF_CPU_CACHE_MB, default a quarter of physical memory,
// at most 8 GiB); a block freed beyond it goes back to the system. CLIF_CPU_CACHE_MB=0 turns caching off.
#include "common.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <unordered_map>

namespace {

constexpr size_t kMinCached = size_t{1} << 20;  // 1 MiB: smaller blocks stay with glibc's bins
constexpr size_t kGranule = size_t{1} << 16;    // sizes are rounded up to 64 KiB so near sizes share blocks
constexpr size_t kHugePage = size_t{2} << 20;   // 2 MiB alignment lets the kernel back large blocks with huge pages

size_t default_limit() {
    if (const char *env = std::getenv("CLIF_CPU_CACHE_MB")) {
        char *end = nullptr;
        long long mb = std::strtoll(env, &end, 10);
        if (end != env && *end == '\0' && mb >= 0) return static_cast<size_t>(mb) << 20;
    }
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    const size_t physical = pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) : 0;
    return std::min(physical / 4, size_t{8} << 30);
}

class CachingCpuAllocator final : public c10::Allocator {
  public:
    CachingCpuAllocator() : limit_(default_limit()) {}

    c10::DataPtr allocate(size_t n) const override {
        void *p = n >= kMinCached ? take(n) : c10::alloc_cpu(n);
        return {p, p, &release, c10::Device(c10::DeviceType::CPU)};
    }

    c10::DeleterFnPtr raw_deleter() const override { return &release; }

    struct Stats {
        int64_t cached, in_use, limit;
    };

    Stats stats() const {
        std::lock_guard<std::mutex> lock(mu_);
        return {static_cast<int64_t>(cached_), static_cast<int64_t>(in_use_), static_cast<int64_t>(limit_)};
    }

    void set_limit(size_t bytes) {
        std::lock_guard<std::mutex> lock(mu_);
        limit_ = bytes;
        trim_locked(limit_);
    }

    void release_all() {
        std::lock_guard<std::mutex> lock(mu_);
        trim_locked(0);
    }

    static CachingCpuAllocator &instance() {
        // Never destroyed: tensors may still be freed during process exit, after static destructors ran.
        static auto *a = new CachingCpuAllocator();
        return *a;
    }

  private:
    void *take(size_t n) const {
        const size_t want = (n + kGranule - 1) / kGranule * kGranule;
        {
            std::lock_guard<std::mutex> lock(mu_);
            // Best fit, and never a block more than a quarter larger: a big block spent on a small request
            // leaves the next big request to the system.
            auto it = free_.lower_bound(want);
            if (it != free_.end() && it->first <= want + want / 4) {
                void *p = it->second;
                const size_t size = it->first;
                free_.erase(it);
                cached_ -= size;
                live_[p] = size;
                in_use_ += size;
                return p;
            }
        }
        void *p = nullptr;
        if (posix_memalign(&p, kHugePage, want) != 0 || p == nullptr)
            throw std::runtime_error("out of memory: could not allocate " + std::to_string(want) + " bytes on the CPU");
#ifdef MADV_HUGEPAGE
        madvise(p, want, MADV_HUGEPAGE);  // advice only: where huge pages are off this does nothing
#endif
        std::lock_guard<std::mutex> lock(mu_);
        live_[p] = want;
        in_use_ += want;
        return p;
    }

    static void release(void *p) {
        if (p == nullptr) return;
        CachingCpuAllocator &a = instance();
        {
            std::lock_guard<std::mutex> lock(a.mu_);
            auto it = a.live_.find(p);
            if (it != a.live_.end()) {
                const size_t size = it->second;
                a.live_.erase(it);
                a.in_use_ -= size;
                if (a.cached_ + size <= a.limit_) {
                    a.free_.emplace(size, p);
                    a.cached_ += size;
                    return;
                }
                // over the limit: back to the system, after the lock is released
            } else {
                c10::free_cpu(p);
                return;
            }
        }
        std::free(p);
    }

    void trim_locked(size_t keep) {
        // Largest blocks first: they are the fewest frees for the most memory.
        while (cached_ > keep && !free_.empty()) {
            auto it = std::prev(free_.end());
            cached_ -= it->first;
            std::free(it->second);
            free_.erase(it);
        }
    }

    mutable std::mutex mu_;
    mutable std::multimap<size_t, void *> free_;
    mutable std::unordered_map<void *, size_t> live_;
    mutable size_t cached_ = 0, in_use_ = 0;
    size_t limit_;
};

// Installed when libclif is loaded, before any tensor exists; a limit of 0 leaves libtorch's allocator alone.
// Blocks allocated before (by libtorch's own static initialisers) keep their own deleter, so they free correctly.
const bool installed = [] {
    CachingCpuAllocator &a = CachingCpuAllocator::instance();
    if (a.stats().limit == 0) return false;
    c10::SetCPUAllocator(&a, /*priority=*/1);
    return true;
}();

}  // namespace

extern "C" {

int32_t clif_device_cpu_cache(int64_t *out_cached, int64_t *out_in_use, int64_t *out_limit) {
    return clif::guard(__func__, [&] {
        auto s = installed ? CachingCpuAllocator::instance().stats() : CachingCpuAllocator::Stats{0, 0, 0};
        *clif::not_null(out_cached, "out_cached") = s.cached;
        *clif::not_null(out_in_use, "out_in_use") = s.in_use;
        *clif::not_null(out_limit, "out_limit") = s.limit;
    });
}

int32_t clif_device_cpu_cache_set_limit(int64_t bytes) {
    return clif::guard(__func__, [&] {
        clif::check_arg(bytes >= 0, "the CPU cache limit must be >= 0 bytes, got " + std::to_string(bytes));
        clif::check_arg(installed || bytes == 0,
                        "the CPU cache is off in this process (CLIF_CPU_CACHE_MB=0 when Clif was loaded)");
        if (installed) CachingCpuAllocator::instance().set_limit(static_cast<size_t>(bytes));
    });
}

int32_t clif_device_cpu_cache_release(void) {
    return clif::guard(__func__, [&] {
        if (installed) CachingCpuAllocator::instance().release_all();
    });
}

}  // extern "C"
