// Transformer2DModel (continuous input) and BasicTransformerBlock (layer_norm, GEGLU) of diffusers.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "attention.h"
#include "module.h"

namespace clif {

struct BasicTransformerBlock {
    LayerNorm norm1, norm2, norm3;
    Attention attn1, attn2;
    FeedForward ff;
    bool only_cross_attention = false;
    BasicTransformerBlock() = default;
    BasicTransformerBlock(Module &m, const std::string &prefix, int64_t dim, int64_t heads, int64_t head_dim,
                          int64_t cross_attention_dim, bool only_cross_attention, bool upcast_attention);
    // x: [B, S, dim]; context: encoder hidden states [B, T, cross_attention_dim].
    at::Tensor operator()(const at::Tensor &x, const at::Tensor &context) const;
};

struct TransformerOptions {
    int64_t heads = 8;
    int64_t layers = 1;
    int64_t cross_attention_dim = 768;
    int64_t norm_groups = 32;
    bool use_linear_projection = false;
    bool only_cross_attention = false;
    bool upcast_attention = false;
};

struct Transformer2DModel {
    GroupNorm norm;  // eps 1e-6 (fixed in diffusers)
    Linear proj_in_linear, proj_out_linear;
    Conv2d proj_in_conv, proj_out_conv;
    std::vector<BasicTransformerBlock> blocks;
    bool linear = false;
    int64_t inner = 0;
    Transformer2DModel() = default;
    Transformer2DModel(Module &m, const std::string &prefix, int64_t channels, const TransformerOptions &o);
    at::Tensor operator()(const at::Tensor &x, const at::Tensor &context) const;
};

}  // namespace clif
