// clif_module_*: what every model has in common: named parameters, loading, devices, gradients.
#include "module.h"

#include "embeddings.h"

#include <cstring>

namespace clif {

at::Tensor &Module::get(const std::string &name) {
    auto it = params_.find(name);
    if (it == params_.end()) throw std::invalid_argument("module has no parameter '" + name + "'");
    return it->second;
}

at::Tensor Module::add(const std::string &name, at::IntArrayRef shape) {
    check_arg(!has(name), "parameter '" + name + "' registered twice");
    auto t = at::zeros(shape, at::TensorOptions().dtype(dtype_).device(device_));
    order_.push_back(name);
    params_.emplace(name, t);
    return t;
}

void Module::load(const std::string &name, const at::Tensor &value) {
    at::Tensor &p = get(name);
    check_arg(p.sizes() == value.sizes(), "parameter '" + name + "' has shape " + c10::str(p.sizes()) +
                                              " but the checkpoint tensor has shape " + c10::str(value.sizes()));
    at::NoGradGuard no_grad;
    p.copy_(value);
}

void Module::to(at::Device device, at::ScalarType dtype) {
    at::NoGradGuard no_grad;
    for (auto &entry : params_) {
        at::Tensor &p = entry.second;
        bool requires_grad = p.requires_grad();
        p.set_data(p.to(device, dtype));
        p.set_requires_grad(requires_grad);
    }
    device_ = device;
    dtype_ = dtype;
}

Linear::Linear(Module &m, const std::string &prefix, int64_t in, int64_t out, bool has_bias) {
    weight = m.add(join(prefix, "weight"), {out, in});
    if (has_bias) bias = m.add(join(prefix, "bias"), {out});
}

// Through the kernel routes (embeddings.cpp): a plain at::linear runs on one core whatever the thread count,
// because Clif keeps OpenBLAS single-threaded, and CLIP ViT-L/14's linears and their backward were the largest
// single-core part of an SD-1.5-scale purge step at two threads.
at::Tensor Linear::operator()(const at::Tensor &x) const { return dense(*this, x); }

Conv2d::Conv2d(Module &m, const std::string &prefix, int64_t in, int64_t out, int64_t kernel, int64_t stride_,
               int64_t padding_, bool has_bias)
    : stride(stride_), padding(padding_) {
    weight = m.add(join(prefix, "weight"), {out, in, kernel, kernel});
    if (has_bias) bias = m.add(join(prefix, "bias"), {out});
}

at::Tensor Conv2d::operator()(const at::Tensor &x) const {
    return at::conv2d(x, weight, bias, {stride, stride}, {padding, padding});
}

GroupNorm::GroupNorm(Module &m, const std::string &prefix, int64_t groups_, int64_t channels, double eps_)
    : groups(groups_), eps(eps_) {
    check_arg(groups > 0 && channels % groups == 0, prefix + ": " + std::to_string(channels) +
                                                        " channels cannot be split into " + std::to_string(groups) + " groups");
    weight = m.add(join(prefix, "weight"), {channels});
    bias = m.add(join(prefix, "bias"), {channels});
}

namespace {
// Under autocast a norm can receive a reduced-precision activation while its parameters stay float32; not every
// libtorch's CPU autocast lists the norms, so compute them in float32 then, as autocast's policy does on CUDA.
bool mixed(const at::Tensor &x, const at::Tensor &w) { return x.scalar_type() != w.scalar_type(); }
}  // namespace

at::Tensor GroupNorm::operator()(const at::Tensor &x) const {
    if (mixed(x, weight)) return at::group_norm(x.to(weight.scalar_type()), groups, weight, bias, eps);
    return at::group_norm(x, groups, weight, bias, eps);
}

LayerNorm::LayerNorm(Module &m, const std::string &prefix, int64_t dim_, double eps_) : dim(dim_), eps(eps_) {
    weight = m.add(join(prefix, "weight"), {dim});
    bias = m.add(join(prefix, "bias"), {dim});
}

at::Tensor LayerNorm::operator()(const at::Tensor &x) const {
    if (mixed(x, weight)) return at::layer_norm(x.to(weight.scalar_type()), {dim}, weight, bias, eps);
    return at::layer_norm(x, {dim}, weight, bias, eps);
}

clif_module wrap_module(std::unique_ptr<Module> module, std::string kind) {
    return new clif_module_s{std::move(module), std::move(kind)};
}

}  // namespace clif

using clif::check_arg;
using clif::not_null;

namespace {
clif::Module &unwrap_any(clif_module h) { return *not_null(h, "module")->module; }

std::string name_of(const char *name, int64_t len) {
    not_null(name, "name");
    check_arg(len >= 0, "negative name length");
    return std::string(name, static_cast<size_t>(len));
}
}  // namespace

extern "C" {

void clif_module_free(clif_module m) {
    try {
        delete m;
    } catch (...) {
    }
}

int32_t clif_module_kind(clif_module m, char *buf, int64_t capacity, int64_t *out_len) {
    return clif::guard(__func__, [&] {
        const std::string &kind = not_null(m, "module")->kind;
        *not_null(out_len, "out_len") = static_cast<int64_t>(kind.size());
        if (buf != nullptr && capacity > 0) {
            size_t n = std::min<size_t>(kind.size(), static_cast<size_t>(capacity));
            std::memcpy(buf, kind.data(), n);
        }
    });
}

int32_t clif_module_param_count(clif_module m, int64_t *out_count) {
    return clif::guard(__func__, [&] {
        *not_null(out_count, "out_count") = static_cast<int64_t>(unwrap_any(m).names().size());
    });
}

int32_t clif_module_param_name(clif_module m, int64_t index, char *buf, int64_t capacity, int64_t *out_len) {
    return clif::guard(__func__, [&] {
        const auto &names = unwrap_any(m).names();
        check_arg(index >= 0 && index < static_cast<int64_t>(names.size()),
                  "parameter index " + std::to_string(index) + " out of range 0.." + std::to_string(names.size()));
        const std::string &name = names[static_cast<size_t>(index)];
        *not_null(out_len, "out_len") = static_cast<int64_t>(name.size());
        if (buf != nullptr && capacity > 0) {
            size_t n = std::min<size_t>(name.size(), static_cast<size_t>(capacity));
            std::memcpy(buf, name.data(), n);
        }
    });
}

int32_t clif_module_param_get(clif_module m, const char *name, int64_t name_len, clif_tensor *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        *out = clif::wrap(unwrap_any(m).get(name_of(name, name_len)));
    });
}

int32_t clif_module_param_set(clif_module m, const char *name, int64_t name_len, clif_tensor value) {
    return clif::guard(__func__, [&] { unwrap_any(m).load(name_of(name, name_len), clif::unwrap(value, "value")); });
}

int32_t clif_module_to(clif_module m, int32_t device, int32_t dtype) {
    return clif::guard(__func__, [&] { unwrap_any(m).to(clif::to_device(device), clif::to_scalar_type(dtype)); });
}

int32_t clif_module_set_requires_grad(clif_module m, const char *name, int64_t name_len, int32_t requires_grad) {
    return clif::guard(__func__, [&] {
        at::Tensor &p = unwrap_any(m).get(name_of(name, name_len));
        p.set_requires_grad(requires_grad != 0);
    });
}

int32_t clif_module_param_grad(clif_module m, const char *name, int64_t name_len, clif_tensor *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        std::string n = name_of(name, name_len);
        const at::Tensor &g = unwrap_any(m).get(n).grad();
        check_arg(g.defined(), "parameter '" + n + "' has no gradient (not trainable, or no backward yet)");
        *out = clif::wrap(g);
    });
}

int32_t clif_module_zero_grad(clif_module m) {
    return clif::guard(__func__, [&] {
        auto &mod = unwrap_any(m);
        for (const auto &n : mod.names()) {
            at::Tensor &p = mod.get(n);
            if (p.grad().defined()) p.mutable_grad() = at::Tensor();
        }
    });
}

}
