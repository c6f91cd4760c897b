// AutoencoderKL (diffusers 0.25): Encoder (DownEncoderBlock2D x N, mid block with one attention),
// quant_conv, post_quant_conv, Decoder (mid block, UpDecoderBlock2D x N). Names are diffusers' exactly
// (encoder.down_blocks.0.resnets.0.norm1.weight, decoder.mid_block.attentions.0.to_out.0.bias, ...);
// legacy attention names (query/key/value/proj_attn) are renamed by the Java loader, not here.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "module.h"

namespace clif {
namespace vae {

struct Config {
    int64_t in_channels = 3, out_channels = 3, latent_channels = 4, layers_per_block = 2, norm_num_groups = 32;
    std::vector<int64_t> block_out_channels;
    std::string act_fn = "silu";
    bool mid_block_add_attention = true, use_quant_conv = true, use_post_quant_conv = true;
    static Config parse(const nlohmann::json &j);
};

// ResnetBlock2D without a time embedding: x + conv2(act(norm2(conv1(act(norm1(x)))))), 1x1 shortcut when
// the channel count changes; output_scale_factor 1.
struct ResnetBlock {
    GroupNorm norm1, norm2;
    Conv2d conv1, conv2, conv_shortcut;
    bool has_shortcut = false;
    std::string act;
    ResnetBlock(Module &m, const std::string &prefix, int64_t in, int64_t out, int64_t groups, double eps,
                const std::string &act);
    at::Tensor operator()(const at::Tensor &x) const;
};

// diffusers' Attention as the VAE mid block builds it: GroupNorm, single head over all channels,
// residual connection, rescale_output_factor 1, softmax upcast.
struct SpatialAttention {
    GroupNorm group_norm;
    Linear to_q, to_k, to_v, to_out;
    SpatialAttention(Module &m, const std::string &prefix, int64_t channels, int64_t groups, double eps);
    at::Tensor operator()(const at::Tensor &x) const;
};

struct MidBlock {
    std::vector<ResnetBlock> resnets;
    std::vector<SpatialAttention> attentions;
    MidBlock(Module &m, const std::string &prefix, int64_t channels, int64_t groups, bool add_attention, const std::string &act);
    at::Tensor operator()(const at::Tensor &x) const;
};

struct Encoder {
    Conv2d conv_in;
    std::vector<std::vector<ResnetBlock>> down_resnets;
    std::vector<Conv2d> downsamplers;  // one per block; undefined weight for the last block
    MidBlock mid_block;
    GroupNorm conv_norm_out;
    Conv2d conv_out;
    std::string act;
    Encoder(Module &m, const Config &c);
    at::Tensor operator()(const at::Tensor &x) const;
};

struct Decoder {
    Conv2d conv_in;
    MidBlock mid_block;
    std::vector<std::vector<ResnetBlock>> up_resnets;
    std::vector<Conv2d> upsamplers;  // undefined weight for the last block
    GroupNorm conv_norm_out;
    Conv2d conv_out;
    std::string act;
    Decoder(Module &m, const Config &c);
    at::Tensor operator()(const at::Tensor &z) const;
};

class Vae : public Module {
public:
    explicit Vae(const Config &c);
    Config config;
    Encoder encoder;
    Decoder decoder;
    Conv2d quant_conv, post_quant_conv;

    at::Tensor decode(const at::Tensor &z) const;
    // Returns (mean, logvar) of the diagonal Gaussian posterior, logvar clamped to [-30, 20].
    std::pair<at::Tensor, at::Tensor> encode(const at::Tensor &x) const;
};

}  // namespace vae
}  // namespace clif
