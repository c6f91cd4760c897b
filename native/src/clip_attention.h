// Attention math shared by the CLIP towers and the VAE mid-block (not by the UNet, which has its own).
//
// q, k, v: [batch, heads, seq, head_dim]; mask: additive, broadcastable to [batch, heads, seq_q, seq_k]
// (undefined for none). Scale 1/sqrt(head_dim) as transformers' CLIPAttention and diffusers' Attention
// use. libtorch >= 2 has the fused kernel; 1.13 gets the eager form with q scaled first (baddbmm with
// beta=0 is avoided: Debian's 1.13 build returns NaN from it on small problems).
#pragma once

#include <ATen/ATen.h>
#include <torch/version.h>

#include <cmath>

namespace clif {
namespace clipvae {

// upcast_softmax: compute the softmax in float32 for half inputs (diffusers' VAE attention does).
inline at::Tensor attention(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, const at::Tensor &mask,
                            bool upcast_softmax) {
#if TORCH_VERSION_MAJOR >= 2
    (void)upcast_softmax;
    return at::scaled_dot_product_attention(q, k, v, mask.defined() ? c10::optional<at::Tensor>(mask) : c10::nullopt);
#else
    const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
    at::Tensor scores = at::matmul(q * scale, k.transpose(-1, -2));
    if (mask.defined()) scores = scores + mask;
    at::Tensor probs;
    if (upcast_softmax && scores.scalar_type() != at::kFloat && scores.scalar_type() != at::kDouble)
        probs = at::softmax(scores, -1, at::kFloat).to(v.scalar_type());
    else
        probs = at::softmax(scores, -1);
    return at::matmul(probs, v);
#endif
}

// [B, S, heads*D] -> [B, heads, S, D]
inline at::Tensor split_heads(const at::Tensor &x, int64_t heads) {
    return x.view({x.size(0), x.size(1), heads, x.size(2) / heads}).transpose(1, 2);
}

// [B, heads, S, D] -> [B, S, heads*D]
inline at::Tensor merge_heads(const at::Tensor &x) {
    return x.transpose(1, 2).reshape({x.size(0), x.size(2), x.size(1) * x.size(3)});
}

// Activations by their transformers / diffusers names.
inline at::Tensor activation(const std::string &name, const at::Tensor &x) {
    if (name == "quick_gelu") return x * at::sigmoid(x * 1.702);
    if (name == "gelu") return at::gelu(x);
    if (name == "silu" || name == "swish") return at::silu(x);
    if (name == "relu") return at::relu(x);
    if (name == "mish") return at::mish(x);
    if (name == "gelu_new" || name == "gelu_pytorch_tanh") return at::gelu(x, "tanh");
    throw std::invalid_argument("unsupported activation '" + name + "'");
}

inline bool known_activation(const std::string &name) {
    return name == "quick_gelu" || name == "gelu" || name == "silu" || name == "swish" || name == "relu" ||
           name == "mish" || name == "gelu_new" || name == "gelu_pytorch_tanh";
}

}  // namespace clipvae
}  // namespace clif
