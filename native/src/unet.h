// UNet2DConditionModel (diffusers 0.25) built from the normalized config Java writes (UNetConfig.toNativeJson):
// every per-block list is already expanded and heads are resolved, so there is no defaults logic here.
#pragma once

#include <ATen/ATen.h>

#include <optional>
#include <string>
#include <vector>

#include "embeddings.h"
#include "module.h"
#include "unet_blocks.h"

namespace clif {

class UNet : public Module {
public:
    explicit UNet(const std::string &config_json);
    // sample [B, in, H, W]; timesteps 0-dim or [B] (or [1]), integer or float; context [B, T, cross_dim].
    // text_embeds [B, P] and time_ids [B, K]: the added conditioning of an addition_embed_type "text_time" UNet
    // (SDXL); undefined tensors for a UNet without one (a text_time UNet refuses to run without them).
    at::Tensor forward(const at::Tensor &sample, const at::Tensor &timesteps, const at::Tensor &context,
                       const at::Tensor &text_embeds = {}, const at::Tensor &time_ids = {}) const;
    bool has_text_time() const { return text_time_; }
    bool gradient_checkpointing = false;

private:
    int64_t in_channels_ = 4, out_channels_ = 4, time_proj_dim_ = 320, cross_dim_ = -1;
    bool center_input_sample_ = false, flip_sin_to_cos_ = true;
    double freq_shift_ = 0;
    Activation act_ = Activation::SiLU, time_embed_act_ = Activation::None;
    Conv2d conv_in_, conv_out_;
    TimestepEmbedding time_embedding_;
    // addition_embed_type "text_time": add_time_proj (sinusoid of each time id) and add_embedding.
    bool text_time_ = false;
    int64_t add_time_dim_ = 0, add_in_dim_ = 0;
    TimestepEmbedding add_embedding_;
    at::Tensor added_embedding(const at::Tensor &text_embeds, const at::Tensor &time_ids, int64_t batch,
                               at::ScalarType dt) const;
    std::vector<DownBlock> down_;
    std::optional<MidBlock> mid_;
    std::vector<UpBlock> up_;
    bool has_norm_out_ = true;
    GroupNorm conv_norm_out_;
};

}  // namespace clif
