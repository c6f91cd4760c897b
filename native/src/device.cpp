// clif_device_*: what devices libtorch has, threads, and the CUDA caching allocator's figures.
#include "common.h"

#include <ATen/Parallel.h>

#include <dlfcn.h>
#include <ATen/Context.h>

#ifdef CLIF_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace {

int32_t cuda_count() {
#ifdef CLIF_WITH_CUDA
    return static_cast<int32_t>(c10::cuda::device_count());
#else
    return 0;
#endif
}

void require_device(int32_t device) {
    if (device == CLIF_DEVICE_CPU) return;
    int32_t count = cuda_count();
    if (device < 0 || device >= count)
        throw std::invalid_argument("no such device: " + std::to_string(device) + " (this libtorch sees " +
                                    std::to_string(count) + " CUDA device" + (count == 1 ? "" : "s") +
                                    "; use -1 for the CPU)");
}

// Debian's libtorch multiplies matrices through the system BLAS. When that is OpenBLAS it runs a thread pool
// of its own beside libtorch's, and two pools each using every core slow everything down (measured on 2
// cores: every workload was fastest with libtorch's pool at 2 threads and OpenBLAS's at 1). So Clif keeps
// OpenBLAS single-threaded from the moment it is loaded; libtorch's pool does the parallel work.
void single_threaded_blas() {
    using setter = void (*)(int);
    if (auto f = reinterpret_cast<setter>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(1);
}

const bool blas_configured = (single_threaded_blas(), true);

}  // namespace

extern "C" {

int32_t clif_device_cuda_count(int32_t *out_count) {
    return clif::guard(__func__, [&] { *clif::not_null(out_count, "out_count") = cuda_count(); });
}

int32_t clif_device_check(int32_t device) {
    return clif::guard(__func__, [&] { require_device(device); });
}

int32_t clif_device_set_num_threads(int32_t threads) {
    return clif::guard(__func__, [&] {
        clif::check_arg(threads > 0, "threads must be positive, got " + std::to_string(threads));
        at::set_num_threads(threads);
    });
}

int32_t clif_device_get_num_threads(int32_t *out_threads) {
    return clif::guard(__func__, [&] { *clif::not_null(out_threads, "out_threads") = at::get_num_threads(); });
}

int32_t clif_device_memory(int32_t device, int64_t *out_allocated, int64_t *out_reserved,
                           int64_t *out_peak_allocated) {
    return clif::guard(__func__, [&] {
        clif::not_null(out_allocated, "out_allocated");
        clif::not_null(out_reserved, "out_reserved");
        clif::not_null(out_peak_allocated, "out_peak_allocated");
        require_device(device);
        *out_allocated = *out_reserved = *out_peak_allocated = 0;
#ifdef CLIF_WITH_CUDA
        if (device >= 0) {
            auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device);
            auto all = static_cast<size_t>(c10::cuda::CUDACachingAllocator::StatType::AGGREGATE);
            *out_allocated = stats.allocated_bytes[all].current;
            *out_reserved = stats.reserved_bytes[all].current;
            *out_peak_allocated = stats.allocated_bytes[all].peak;
        }
#endif
    });
}

int32_t clif_device_reset_peak(int32_t device) {
    return clif::guard(__func__, [&] {
        require_device(device);
#ifdef CLIF_WITH_CUDA
        if (device >= 0) c10::cuda::CUDACachingAllocator::resetPeakStats(device);
#endif
    });
}

int32_t clif_device_synchronize(int32_t device) {
    return clif::guard(__func__, [&] {
        require_device(device);
#ifdef CLIF_WITH_CUDA
        if (device >= 0) c10::cuda::device_synchronize();
#endif
    });
}

}
