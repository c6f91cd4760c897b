// Timestep embeddings of the UNet (diffusers embeddings.py: get_timestep_embedding, TimestepEmbedding), the
// activation functions the UNet's config can name, and the two primitive ops every UNet block uses (dense and
// conv), routed to oneDNN or the BLAS on the CPU.
#pragma once

#include <ATen/ATen.h>

#include <string>

#include "module.h"

namespace clif {

enum class Activation { None, SiLU, GELU, Mish, ReLU };

// "silu"/"swish", "gelu", "mish", "relu" (as diffusers' get_activation); "" or "none" -> None.
Activation parse_activation(const std::string &name, const std::string &field);

at::Tensor activate(Activation act, const at::Tensor &x);

// y = x W^T + b. On the CPU in float32 it runs as a 1x1 oneDNN convolution or through the BLAS (at::linear),
// whichever routes.h measured faster for this shape; elsewhere at::linear. Autograd works on both.
at::Tensor dense(const Linear &l, const at::Tensor &x);
// at::conv2d, but through oneDNN on the CPU in float32 (libtorch 1.13 picks its slow im2col path for 1x1
// kernels and for batch 1 when single-threaded); 1x1 convolutions go to oneDNN or to a BLAS matrix product,
// whichever routes.h measured faster for this shape.
at::Tensor conv(const Conv2d &c, const at::Tensor &x);
// In place when autograd does not need the input (no grad mode, or x needs no grad); else out of place.
at::Tensor activate_(Activation act, at::Tensor x);

// Sinusoidal embedding of 1-D timesteps [B] -> [B, dim], float32 whatever the timesteps' dtype, computed op by
// op as diffusers does (exponent = -ln(max_period) * arange(half) / (half - shift); [sin, cos], flipped to
// [cos, sin] when flip_sin_to_cos; odd dims zero-padded).
at::Tensor timestep_embedding(const at::Tensor &timesteps, int64_t dim, bool flip_sin_to_cos, double shift,
                              double max_period = 10000.0);

// linear_1 -> act -> linear_2 (-> post_act).
struct TimestepEmbedding {
    Linear linear_1, linear_2;
    Activation act = Activation::SiLU, post_act = Activation::None;
    TimestepEmbedding() = default;
    TimestepEmbedding(Module &m, const std::string &prefix, int64_t in, int64_t dim, Activation act,
                      Activation post_act);
    at::Tensor operator()(const at::Tensor &x) const;
};

}  // namespace clif
