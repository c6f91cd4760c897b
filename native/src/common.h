// Shared by every export: the handle types, dtype/device mapping and the catch-all guard.
#pragma once

#include <ATen/ATen.h>
#include <torch/version.h>

#include <atomic>
#include <stdexcept>
#include <string>

#include "clif.h"

struct clif_tensor_s {
    at::Tensor t;
};

namespace clif {

// Whether libtorch's autocast is on for this thread on the CPU (cuda = false) or CUDA: hand-written fast paths
// that call kernels autocast does not see (oneDNN, fused attention) must step aside while it is.
bool autocast_enabled(bool cuda);

// This thread's autocast settings (on/off and dtype, CPU and CUDA), captured when a checkpointed block runs
// forward so that its recomputation during backward, which happens outside any autocast region, runs in the same
// precision. AutocastRestore applies them for a scope and puts the previous ones back.
struct AutocastState {
    bool cpu = false, cuda = false;
    at::ScalarType cpu_dtype = at::kBFloat16, cuda_dtype = at::kHalf;
    static AutocastState current();
};

class AutocastRestore {
  public:
    explicit AutocastRestore(const AutocastState &s);
    ~AutocastRestore();
    AutocastRestore(const AutocastRestore &) = delete;
    AutocastRestore &operator=(const AutocastRestore &) = delete;

  private:
    AutocastState previous_;
    bool nested_;
};


extern std::atomic<int64_t> live_tensors;

// Stores the message returned by clif_last_error() on this thread.
void set_last_error(const std::string &message);
const char *last_error_cstr();

// Runs `body`; turns any exception into a non-zero return and a stored message. Every export uses it,
// because a C++ exception escaping into the JVM would kill the process.
template <typename F>
int32_t guard(const char *function, F &&body) noexcept {
    try {
        body();
        return 0;
    } catch (const c10::Error &e) {
        // c10's what() carries a backtrace after the first line; the short message is what users need.
        set_last_error(std::string(function) + ": " + e.what_without_backtrace());
    } catch (const std::exception &e) {
        set_last_error(std::string(function) + ": " + e.what());
    } catch (...) {
        set_last_error(std::string(function) + ": unknown C++ exception");
    }
    return 1;
}

inline void check_arg(bool ok, const std::string &message) {
    if (!ok) throw std::invalid_argument(message);
}

template <typename T>
T *not_null(T *p, const char *what) {
    if (p == nullptr) throw std::invalid_argument(std::string(what) + " is NULL");
    return p;
}

at::ScalarType to_scalar_type(int32_t dtype);
int32_t from_scalar_type(at::ScalarType type);
at::Device to_device(int32_t device);
int32_t from_device(const at::Device &device);
at::IntArrayRef to_shape(const int64_t *shape, int32_t ndim);

// Wraps a tensor in a new handle (counted for leak checks).
clif_tensor wrap(at::Tensor t);
const at::Tensor &unwrap(clif_tensor t, const char *what = "tensor");

}  // namespace clif
