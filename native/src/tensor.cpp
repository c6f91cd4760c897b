// clif_tensor_*: creating, inspecting, copying and freeing tensors, plus the few element-wise ops that
// Java's schedulers and tests need.
#include "common.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cstring>
#include <vector>

using clif::check_arg;
using clif::not_null;
using clif::unwrap;
using clif::wrap;

namespace {

int64_t byte_size(at::IntArrayRef shape, at::ScalarType type) {
    int64_t n = 1;
    for (int64_t d : shape) {
        check_arg(d == 0 || n <= INT64_MAX / d, "shape is too large");
        n *= d;
    }
    int64_t item = static_cast<int64_t>(c10::elementSize(type));
    check_arg(n <= INT64_MAX / item, "shape is too large");
    return n * item;
}

}  // namespace

extern "C" {

int32_t clif_tensor_from_data(const void *data, int64_t nbytes, const int64_t *shape, int32_t ndim,
                              int32_t dtype, int32_t device, clif_tensor *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        auto type = clif::to_scalar_type(dtype);
        auto sizes = clif::to_shape(shape, ndim);
        int64_t expected = byte_size(sizes, type);
        check_arg(nbytes == expected, "data has " + std::to_string(nbytes) + " bytes but shape " +
                                          c10::str(sizes) + " of " + c10::toString(type) + " needs " +
                                          std::to_string(expected));
        check_arg(nbytes == 0 || data != nullptr, "data is NULL");
        auto t = at::empty(sizes, at::TensorOptions().dtype(type));
        if (nbytes > 0) std::memcpy(t.data_ptr(), data, static_cast<size_t>(nbytes));
        auto target = clif::to_device(device);
        *out = wrap(target.is_cpu() ? t : t.to(target));
    });
}

int32_t clif_tensor_zeros(const int64_t *shape, int32_t ndim, int32_t dtype, int32_t device,
                          clif_tensor *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        auto options = at::TensorOptions().dtype(clif::to_scalar_type(dtype)).device(clif::to_device(device));
        *out = wrap(at::zeros(clif::to_shape(shape, ndim), options));
    });
}

int32_t clif_tensor_randn(const int64_t *shape, int32_t ndim, int64_t seed, int32_t dtype, int32_t device,
                          clif_tensor *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
        auto t = at::randn(clif::to_shape(shape, ndim), gen, at::TensorOptions().dtype(at::kFloat));
        *out = wrap(t.to(clif::to_device(device), clif::to_scalar_type(dtype)));
    });
}

int32_t clif_tensor_copy_to(clif_tensor t, void *dst, int64_t nbytes) {
    return clif::guard(__func__, [&] {
        auto cpu = unwrap(t).to(at::kCPU).contiguous();
        int64_t have = cpu.numel() * static_cast<int64_t>(cpu.element_size());
        check_arg(nbytes == have, "destination has " + std::to_string(nbytes) + " bytes but the tensor has " +
                                      std::to_string(have));
        check_arg(nbytes == 0 || dst != nullptr, "dst is NULL");
        if (nbytes > 0) std::memcpy(dst, cpu.data_ptr(), static_cast<size_t>(nbytes));
    });
}

void clif_tensor_free(clif_tensor t) {
    if (t == nullptr) return;
    try {
        delete t;
    } catch (...) {
        // A destructor that throws has nowhere to report; the handle is gone either way.
    }
    clif::live_tensors.fetch_sub(1, std::memory_order_relaxed);
}

int32_t clif_tensor_ndim(clif_tensor t, int32_t *out_ndim) {
    return clif::guard(__func__, [&] { *not_null(out_ndim, "out_ndim") = static_cast<int32_t>(unwrap(t).dim()); });
}

int32_t clif_tensor_shape(clif_tensor t, int64_t *out_shape, int32_t capacity) {
    return clif::guard(__func__, [&] {
        const auto &x = unwrap(t);
        int64_t n = std::min<int64_t>(x.dim(), capacity);
        check_arg(n == 0 || out_shape != nullptr, "out_shape is NULL");
        for (int64_t i = 0; i < n; i++) out_shape[i] = x.size(i);
    });
}

int32_t clif_tensor_dtype(clif_tensor t, int32_t *out_dtype) {
    return clif::guard(__func__, [&] { *not_null(out_dtype, "out_dtype") = clif::from_scalar_type(unwrap(t).scalar_type()); });
}

int32_t clif_tensor_device(clif_tensor t, int32_t *out_device) {
    return clif::guard(__func__, [&] { *not_null(out_device, "out_device") = clif::from_device(unwrap(t).device()); });
}

int32_t clif_tensor_numel(clif_tensor t, int64_t *out_numel) {
    return clif::guard(__func__, [&] { *not_null(out_numel, "out_numel") = unwrap(t).numel(); });
}

int32_t clif_tensor_to(clif_tensor t, int32_t device, int32_t dtype, clif_tensor *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        *out = wrap(unwrap(t).to(clif::to_device(device), clif::to_scalar_type(dtype)));
    });
}

int32_t clif_tensor_clone(clif_tensor t, clif_tensor *out) {
    return clif::guard(__func__, [&] { *not_null(out, "out") = wrap(unwrap(t).clone()); });
}

int32_t clif_tensor_reshape(clif_tensor t, const int64_t *shape, int32_t ndim, clif_tensor *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        *out = wrap(unwrap(t).reshape(clif::to_shape(shape, ndim)));
    });
}

int32_t clif_tensor_axpby(double alpha, clif_tensor a, double beta, clif_tensor b, clif_tensor *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        *out = wrap(unwrap(a, "a").mul(alpha).add(unwrap(b, "b"), beta));
    });
}

int32_t clif_tensor_scale(clif_tensor a, double alpha, clif_tensor *out) {
    return clif::guard(__func__, [&] { *not_null(out, "out") = wrap(unwrap(a).mul(alpha)); });
}

int32_t clif_tensor_mul(clif_tensor a, clif_tensor b, clif_tensor *out) {
    return clif::guard(__func__, [&] { *not_null(out, "out") = wrap(unwrap(a, "a").mul(unwrap(b, "b"))); });
}

int32_t clif_tensor_clamp(clif_tensor a, double lo, double hi, clif_tensor *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        check_arg(lo <= hi, "clamp range [" + std::to_string(lo) + ", " + std::to_string(hi) + "] is empty");
        *out = wrap(unwrap(a).clamp(lo, hi));
    });
}

int32_t clif_tensor_cat(const clif_tensor *tensors, int32_t count, int64_t dim, clif_tensor *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        check_arg(count > 0, "cat needs at least one tensor");
        not_null(tensors, "tensors");
        std::vector<at::Tensor> parts;
        parts.reserve(static_cast<size_t>(count));
        for (int32_t i = 0; i < count; i++) parts.push_back(unwrap(tensors[i], "tensors[i]"));
        *out = wrap(at::cat(parts, dim));
    });
}

int32_t clif_tensor_narrow(clif_tensor t, int64_t dim, int64_t start, int64_t length, clif_tensor *out) {
    return clif::guard(__func__, [&] { *not_null(out, "out") = wrap(unwrap(t).narrow(dim, start, length)); });
}

int32_t clif_tensor_retain_grad(clif_tensor t) {
    return clif::guard(__func__, [&] {
        const auto &x = unwrap(t);
        check_arg(x.requires_grad(), "retain_grad on a tensor that does not require grad");
        const_cast<at::Tensor &>(x).retain_grad();
    });
}

int32_t clif_tensor_detach(clif_tensor t, clif_tensor *out) {
    return clif::guard(__func__, [&] { *not_null(out, "out") = wrap(unwrap(t).detach()); });
}

int32_t clif_tensor_max_abs_diff(clif_tensor a, clif_tensor b, double *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        const auto &x = unwrap(a, "a");
        const auto &y = unwrap(b, "b");
        check_arg(x.sizes() == y.sizes(), "shapes differ: " + c10::str(x.sizes()) + " vs " + c10::str(y.sizes()));
        *out = x.numel() == 0 ? 0.0 : (x.to(at::kDouble) - y.to(at::kDouble)).abs().max().item<double>();
    });
}

int32_t clif_tensor_dot(clif_tensor a, clif_tensor b, double *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        const auto &x = unwrap(a, "a");
        const auto &y = unwrap(b, "b");
        check_arg(x.sizes() == y.sizes(), "shapes differ: " + c10::str(x.sizes()) + " vs " + c10::str(y.sizes()));
        check_arg(x.numel() == 0 || (at::isFloatingType(x.scalar_type()) && at::isFloatingType(y.scalar_type())),
                  "dot needs floating-point tensors");
        at::NoGradGuard no_grad;
        *out = x.numel() == 0 ? 0.0 : (x.detach().to(at::kDouble) * y.detach().to(at::kDouble)).sum().item<double>();
    });
}

int32_t clif_tensor_matmul(clif_tensor a, clif_tensor b, clif_tensor *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        const auto &x = unwrap(a, "a");
        const auto &y = unwrap(b, "b");
        check_arg(x.dim() == 2 && y.dim() == 2 && x.size(1) == y.size(0),
                  "matmul needs [n, k] x [k, m], got " + c10::str(x.sizes()) + " x " + c10::str(y.sizes()));
        check_arg(x.scalar_type() == y.scalar_type(), "matmul operands differ in dtype");
        check_arg(x.device() == y.device(), "matmul operands are on different devices");
        *out = wrap(x.matmul(y));
    });
}

int32_t clif_tensor_transpose(clif_tensor t, clif_tensor *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        const auto &x = unwrap(t);
        check_arg(x.dim() == 2, "transpose needs a 2-D tensor, got " + c10::str(x.sizes()));
        *out = wrap(x.t());
    });
}

int32_t clif_tensor_add_scaled_(clif_tensor t, double alpha, clif_tensor other) {
    return clif::guard(__func__, [&] {
        at::Tensor x = unwrap(t, "t");
        const auto &y = unwrap(other, "other");
        check_arg(x.sizes() == y.sizes(), "shapes differ: " + c10::str(x.sizes()) + " vs " + c10::str(y.sizes()));
        check_arg(x.scalar_type() == y.scalar_type(), "dtypes differ");
        check_arg(x.device() == y.device(), "devices differ");
        at::NoGradGuard no_grad;
        x.add_(y, alpha);
    });
}

int32_t clif_tensor_all_finite(clif_tensor t, int32_t *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        const auto &x = unwrap(t);
        *out = (!at::isFloatingType(x.scalar_type()) || x.numel() == 0 || x.isfinite().all().item<bool>()) ? 1 : 0;
    });
}

int64_t clif_tensor_live_count(void) { return clif::live_tensors.load(std::memory_order_relaxed); }

}
