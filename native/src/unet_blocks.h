// The UNet's stages (diffusers unet_2d_blocks.py): CrossAttnDownBlock2D / DownBlock2D, UNetMidBlock2DCrossAttn,
// CrossAttnUpBlock2D / UpBlock2D. A block "with attention" holds one Transformer2DModel per resnet.
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <string>
#include <vector>

#include "module.h"
#include "resnet.h"
#include "transformer.h"

namespace clif {

// Gradient checkpointing (defined in autograd.cpp): runs fn(inputs) without recording its graph; backward
// re-runs it with autograd on and back-propagates through the recomputed graph (into the parameters fn uses
// and into the inputs). fn must be deterministic and must outlive the backward pass.
at::Tensor checkpoint(std::function<at::Tensor(const std::vector<at::Tensor> &)> fn,
                      const std::vector<at::Tensor> &inputs);

// What every block's forward needs besides its input.
struct BlockContext {
    const at::Tensor &temb_act;  // act(time embedding) [B, temb]
    const at::Tensor &context;   // encoder hidden states [B, T, cross_attention_dim]
    bool checkpointing;          // gradient checkpointing of each resnet / transformer (grad mode only)
};

// Resnet / transformer calls, checkpointed when asked.
at::Tensor run_resnet(const ResnetBlock2D &r, const at::Tensor &x, const BlockContext &c);
at::Tensor run_transformer(const Transformer2DModel &t, const at::Tensor &x, const BlockContext &c);

struct BlockOptions {
    int64_t layers = 2;                            // resnets in the block
    std::vector<int64_t> transformer_layers;       // per resnet (empty: no attention)
    TransformerOptions attn;                       // heads, cross_attention_dim, ... (transformer layers set per resnet)
    int64_t temb_channels = 1280;
    int64_t groups = 32;
    double eps = 1e-5;
    Activation act = Activation::SiLU;
    double output_scale_factor = 1.0;
};

struct DownBlock {
    std::vector<ResnetBlock2D> resnets;
    std::vector<Transformer2DModel> attentions;  // empty for DownBlock2D
    bool has_downsample = false;
    Downsample2D downsample;
    DownBlock() = default;
    DownBlock(Module &m, const std::string &prefix, int64_t in, int64_t out, const BlockOptions &o, bool add_downsample,
              int64_t downsample_padding);
    // Appends the block's skip outputs to `skips`.
    at::Tensor operator()(at::Tensor h, const BlockContext &c, std::vector<at::Tensor> &skips) const;
};

struct MidBlock {
    std::vector<ResnetBlock2D> resnets;          // layers + 1
    std::vector<Transformer2DModel> attentions;  // layers
    MidBlock() = default;
    MidBlock(Module &m, const std::string &prefix, int64_t channels, const BlockOptions &o);
    at::Tensor operator()(at::Tensor h, const BlockContext &c) const;
};

struct UpBlock {
    std::vector<ResnetBlock2D> resnets;
    std::vector<Transformer2DModel> attentions;  // empty for UpBlock2D
    bool has_upsample = false;
    Upsample2D upsample;
    UpBlock() = default;
    UpBlock(Module &m, const std::string &prefix, int64_t in, int64_t prev_out, int64_t out, const BlockOptions &o,
            bool add_upsample);
    // Consumes resnets.size() tensors from the back of `skips`; upsample_size: the target size (empty: x2).
    at::Tensor operator()(at::Tensor h, const BlockContext &c, std::vector<at::Tensor> &skips,
                          at::IntArrayRef upsample_size) const;
};

}  // namespace clif
