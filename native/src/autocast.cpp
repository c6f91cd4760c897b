// clif_autocast_*: mixed precision through libtorch's autocast.
//
// Autocast is thread-local state in libtorch; the JVM calls every downcall on the calling Java thread, so a
// begin/end pair brackets the forwards that one thread runs. Parameters stay float32 (the master weights):
// autocast casts them per operation, the cast is differentiable, so their gradients come back in float32 and
// the optimizer updates float32 weights.
#include "common.h"

#include <ATen/autocast_mode.h>

#include <vector>

using clif::check_arg;

namespace {

// Newer libtorch (2.4+) takes the device type; the old per-device functions were deprecated then.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define CLIF_AUTOCAST_BY_DEVICE_TYPE 1
#endif

struct Saved {
    bool cuda;
    bool enabled;
    at::ScalarType dtype;
};

thread_local std::vector<Saved> stack;

bool enabled(bool cuda) {
#ifdef CLIF_AUTOCAST_BY_DEVICE_TYPE
    return at::autocast::is_autocast_enabled(cuda ? at::kCUDA : at::kCPU);
#else
    return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

at::ScalarType dtype_of(bool cuda) {
#ifdef CLIF_AUTOCAST_BY_DEVICE_TYPE
    return at::autocast::get_autocast_dtype(cuda ? at::kCUDA : at::kCPU);
#else
    return cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
}

void set(bool cuda, bool on, at::ScalarType dtype) {
#ifdef CLIF_AUTOCAST_BY_DEVICE_TYPE
    at::autocast::set_autocast_dtype(cuda ? at::kCUDA : at::kCPU, dtype);
    at::autocast::set_autocast_enabled(cuda ? at::kCUDA : at::kCPU, on);
#else
    if (cuda) {
        at::autocast::set_autocast_gpu_dtype(dtype);
        at::autocast::set_enabled(on);
    } else {
        at::autocast::set_autocast_cpu_dtype(dtype);
        at::autocast::set_cpu_enabled(on);
    }
#endif
}

}  // namespace

bool clif::autocast_enabled(bool cuda) { return enabled(cuda); }

clif::AutocastState clif::AutocastState::current() {
    AutocastState s;
    s.cpu = enabled(false);
    s.cuda = enabled(true);
    s.cpu_dtype = dtype_of(false);
    s.cuda_dtype = dtype_of(true);
    return s;
}

clif::AutocastRestore::AutocastRestore(const AutocastState &s) : previous_(AutocastState::current()), nested_(s.cpu || s.cuda) {
    if (nested_) at::autocast::increment_nesting();
    set(false, s.cpu, s.cpu_dtype);
    set(true, s.cuda, s.cuda_dtype);
}

clif::AutocastRestore::~AutocastRestore() {
    set(false, previous_.cpu, previous_.cpu_dtype);
    set(true, previous_.cuda, previous_.cuda_dtype);
    if (nested_ && at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
}

extern "C" {

int32_t clif_autocast_begin(int32_t device, int32_t dtype) {
    return clif::guard(__func__, [&] {
        check_arg(device >= CLIF_DEVICE_CPU, "no such device: " + std::to_string(device));
        const bool cuda = device != CLIF_DEVICE_CPU;
        check_arg(dtype == CLIF_F16 || dtype == CLIF_BF16, "autocast runs in fp16 or bf16, not dtype code " + std::to_string(dtype));
        // libtorch's CPU autocast knows bfloat16 only.
        check_arg(cuda || dtype == CLIF_BF16, "fp16 autocast needs a CUDA device; on the CPU use bf16");
        const at::ScalarType st = dtype == CLIF_F16 ? at::kHalf : at::kBFloat16;
        stack.push_back({cuda, enabled(cuda), dtype_of(cuda)});
        at::autocast::increment_nesting();
        set(cuda, true, st);
    });
}

int32_t clif_autocast_end(void) {
    return clif::guard(__func__, [&] {
        check_arg(!stack.empty(), "clif_autocast_end without a matching clif_autocast_begin on this thread");
        Saved s = stack.back();
        stack.pop_back();
        set(s.cuda, s.enabled, s.dtype);
        // The cast cache holds the low-precision copies of the weights; free them when the outermost region ends.
        if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    });
}

int32_t clif_autocast_depth(int32_t *out_depth) {
    return clif::guard(__func__, [&] { *clif::not_null(out_depth, "out_depth") = static_cast<int32_t>(stack.size()); });
}

}
