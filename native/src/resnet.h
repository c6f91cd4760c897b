// ResnetBlock2D, Downsample2D and Upsample2D of diffusers' resnet.py / downsampling.py / upsampling.py, with the
// UNet's options: time_embedding_norm "default" only, pre-norm, conv shortcut when channels change.
#pragma once

#include <ATen/ATen.h>

#include <string>

#include "embeddings.h"
#include "module.h"

namespace clif {

struct ResnetBlock2D {
    GroupNorm norm1, norm2;
    Conv2d conv1, conv2, conv_shortcut;  // conv_shortcut: weight undefined when in == out channels
    Linear time_emb_proj;
    Activation act = Activation::SiLU;
    double output_scale_factor = 1.0;
    ResnetBlock2D() = default;
    ResnetBlock2D(Module &m, const std::string &prefix, int64_t in, int64_t out, int64_t temb_channels, int64_t groups,
                  double eps, Activation act, double output_scale_factor);
    // temb_act: act(temb) [B, temb_channels]; the UNet applies the activation once per forward, not per block.
    at::Tensor operator()(const at::Tensor &x, const at::Tensor &temb_act) const;
};

// 3x3 stride-2 conv ("downsamplers.0.conv"); padding 0 pads (0, 1, 0, 1) first, as diffusers does.
struct Downsample2D {
    Conv2d conv;
    int64_t padding = 1;
    Downsample2D() = default;
    Downsample2D(Module &m, const std::string &prefix, int64_t channels, int64_t padding);
    at::Tensor operator()(const at::Tensor &x) const;
};

// Nearest x2 (or to `size`) then a 3x3 conv ("upsamplers.0.conv").
struct Upsample2D {
    Conv2d conv;
    Upsample2D() = default;
    Upsample2D(Module &m, const std::string &prefix, int64_t channels);
    at::Tensor operator()(const at::Tensor &x, at::IntArrayRef size) const;
};

}  // namespace clif
