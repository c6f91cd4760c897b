// diffusers' Attention (attention_processor.py, AttnProcessor math) and the GEGLU FeedForward (attention.py).
#pragma once

#include <ATen/ATen.h>

#include <string>

#include "module.h"

namespace clif {

// softmax(q k^T * scale) v over [B, H, S, D] tensors. Uses at::scaled_dot_product_attention on libtorch >= 2,
// else matmul -> softmax -> matmul with q scaled first. upcast: q, k (and the softmax) in float32.
at::Tensor attention_core(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, double scale, bool upcast);

struct Attention {
    Linear to_q, to_k, to_v, to_out;  // to_out = "to_out.0" (to_out.1 is dropout)
    int64_t heads = 1, head_dim = 0;
    double scale = 1.0;
    bool upcast = false;
    Attention() = default;
    // context_dim: the key/value input width (query_dim for self-attention).
    Attention(Module &m, const std::string &prefix, int64_t query_dim, int64_t context_dim, int64_t heads,
              int64_t head_dim, bool upcast_attention);
    // x: [B, S, query_dim]; context: [B, T, context_dim] (x itself for self-attention).
    at::Tensor operator()(const at::Tensor &x, const at::Tensor &context) const;
};

// ff.net.0 = GEGLU (proj: dim -> 2 * inner), ff.net.2 = Linear(inner -> dim).
struct FeedForward {
    Linear proj, out;
    FeedForward() = default;
    FeedForward(Module &m, const std::string &prefix, int64_t dim, int64_t inner);
    at::Tensor operator()(const at::Tensor &x) const;
};

}  // namespace clif
