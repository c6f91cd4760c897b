// Models built in C++ from a config and filled by name from checkpoint tensors.
//
// A Module registers every parameter under its exact diffusers/transformers name (e.g.
// "down_blocks.0.attentions.1.transformer_blocks.0.attn2.to_k.weight"), so real checkpoints load with no
// renaming table. Building blocks (Linear, Conv2d, ...) keep at::Tensor handles that share the
// registered TensorImpl; moving or loading parameters happens in place (set_data / copy_) so those
// handles stay valid.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common.h"

namespace clif {

class Module {
public:
    virtual ~Module() = default;

    const std::vector<std::string> &names() const { return order_; }
    bool has(const std::string &name) const { return params_.count(name) != 0; }
    // The registered tensor; throws naming the parameter when there is none.
    at::Tensor &get(const std::string &name);
    // Registers a float32 parameter of `shape` (zero-filled until weights are loaded).
    at::Tensor add(const std::string &name, at::IntArrayRef shape);

    // Copies `value` into the named parameter (shape must match exactly; dtype/device converted).
    void load(const std::string &name, const at::Tensor &value);
    void to(at::Device device, at::ScalarType dtype);
    at::Device device() const { return device_; }
    at::ScalarType dtype() const { return dtype_; }

private:
    std::vector<std::string> order_;
    std::unordered_map<std::string, at::Tensor> params_;
    at::Device device_{at::kCPU};
    at::ScalarType dtype_{at::kFloat};
};

// "a.b" + "c" -> "a.b.c"; "" + "c" -> "c".
inline std::string join(const std::string &prefix, const std::string &name) {
    return prefix.empty() ? name : prefix + "." + name;
}

struct Linear {
    at::Tensor weight, bias;  // bias undefined when the layer has none
    Linear() = default;
    Linear(Module &m, const std::string &prefix, int64_t in, int64_t out, bool has_bias = true);
    at::Tensor operator()(const at::Tensor &x) const;
};

struct Conv2d {
    at::Tensor weight, bias;
    int64_t stride = 1, padding = 0;
    Conv2d() = default;
    Conv2d(Module &m, const std::string &prefix, int64_t in, int64_t out, int64_t kernel, int64_t stride = 1,
           int64_t padding = 0, bool has_bias = true);
    at::Tensor operator()(const at::Tensor &x) const;
};

struct GroupNorm {
    at::Tensor weight, bias;
    int64_t groups = 32;
    double eps = 1e-5;
    GroupNorm() = default;
    GroupNorm(Module &m, const std::string &prefix, int64_t groups, int64_t channels, double eps);
    at::Tensor operator()(const at::Tensor &x) const;
};

struct LayerNorm {
    at::Tensor weight, bias;
    int64_t dim = 0;
    double eps = 1e-5;
    LayerNorm() = default;
    LayerNorm(Module &m, const std::string &prefix, int64_t dim, double eps);
    at::Tensor operator()(const at::Tensor &x) const;
};

// Runs the body with autograd on or off (forward exports take an int32_t `grad` flag).
struct GradMode {
    explicit GradMode(bool enabled) : prev_(at::GradMode::is_enabled()) { at::GradMode::set_enabled(enabled); }
    ~GradMode() { at::GradMode::set_enabled(prev_); }
    GradMode(const GradMode &) = delete;
    GradMode &operator=(const GradMode &) = delete;

private:
    bool prev_;
};

}  // namespace clif

struct clif_module_s {
    std::unique_ptr<clif::Module> module;
    std::string kind;  // "unet", "clip_text", "clip", "vae", ... for messages and type checks
};

namespace clif {
// Wraps a module in a new handle.
clif_module wrap_module(std::unique_ptr<Module> module, std::string kind);
// The module behind a handle, checked to be of `kind` (throws with a clear message otherwise).
template <typename T>
T &unwrap_module(clif_module h, const char *kind) {
    not_null(h, "module");
    if (h->kind != kind) throw std::invalid_argument(std::string("expected a ") + kind + " module, got a " + h->kind + " module");
    return static_cast<T &>(*h->module);
}
}  // namespace clif
