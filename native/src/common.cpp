#include "common.h"

#ifdef CLIF_WITH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace clif {

std::atomic<int64_t> live_tensors{0};

namespace {
thread_local std::string last_error;
}

void set_last_error(const std::string &message) { last_error = message; }
const char *last_error_cstr() { return last_error.c_str(); }

at::ScalarType to_scalar_type(int32_t dtype) {
    switch (dtype) {
        case CLIF_F32: return at::kFloat;
        case CLIF_F16: return at::kHalf;
        case CLIF_BF16: return at::kBFloat16;
        case CLIF_F64: return at::kDouble;
        case CLIF_I64: return at::kLong;
        case CLIF_I32: return at::kInt;
        case CLIF_I16: return at::kShort;
        case CLIF_I8: return at::kChar;
        case CLIF_U8: return at::kByte;
        case CLIF_BOOL: return at::kBool;
        default: throw std::invalid_argument("unknown dtype code " + std::to_string(dtype));
    }
}

int32_t from_scalar_type(at::ScalarType type) {
    switch (type) {
        case at::kFloat: return CLIF_F32;
        case at::kHalf: return CLIF_F16;
        case at::kBFloat16: return CLIF_BF16;
        case at::kDouble: return CLIF_F64;
        case at::kLong: return CLIF_I64;
        case at::kInt: return CLIF_I32;
        case at::kShort: return CLIF_I16;
        case at::kChar: return CLIF_I8;
        case at::kByte: return CLIF_U8;
        case at::kBool: return CLIF_BOOL;
        default: throw std::invalid_argument(std::string("tensor has a dtype Clif does not map: ") +
                                             c10::toString(type));
    }
}

at::Device to_device(int32_t device) {
    if (device == CLIF_DEVICE_CPU) return at::Device(at::kCPU);
    check_arg(device >= 0, "device " + std::to_string(device) + " is neither -1 (CPU) nor a CUDA index");
    return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device));
}

int32_t from_device(const at::Device &device) {
    if (device.is_cpu()) return CLIF_DEVICE_CPU;
    if (device.is_cuda()) return device.has_index() ? device.index() : 0;
    throw std::invalid_argument("tensor lives on a device Clif does not map: " + device.str());
}

at::IntArrayRef to_shape(const int64_t *shape, int32_t ndim) {
    check_arg(ndim >= 0 && ndim <= 16, "ndim " + std::to_string(ndim) + " is outside 0..16");
    check_arg(ndim == 0 || shape != nullptr, "shape is NULL");
    for (int32_t i = 0; i < ndim; i++)
        check_arg(shape[i] >= 0, "shape[" + std::to_string(i) + "] = " + std::to_string(shape[i]) + " is negative");
    return at::IntArrayRef(shape, static_cast<size_t>(ndim));
}

clif_tensor wrap(at::Tensor t) {
    auto *h = new clif_tensor_s{std::move(t)};
    live_tensors.fetch_add(1, std::memory_order_relaxed);
    return h;
}

const at::Tensor &unwrap(clif_tensor t, const char *what) { return not_null(t, what)->t; }

}  // namespace clif

extern "C" {

const char *clif_version(void) { return CLIF_VERSION; }
const char *clif_torch_version(void) { return TORCH_VERSION; }
const char *clif_last_error(void) { return clif::last_error_cstr(); }

}
