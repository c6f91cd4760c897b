// clif_vae_*: the AutoencoderKL of Stable Diffusion.
#include "vae.h"

#include "clip_attention.h"
#include "clip_config.h"

namespace clif {
namespace vae {

namespace {
constexpr double kEps = 1e-6;  // diffusers' Encoder/Decoder use resnet_eps=1e-6 for every norm
}

Config Config::parse(const nlohmann::json &j) {
    const std::string w = "vae";
    Config c;
    c.in_channels = clipvae::get_int(j, "in_channels", w);
    c.out_channels = clipvae::get_int(j, "out_channels", w);
    c.latent_channels = clipvae::get_int(j, "latent_channels", w);
    c.layers_per_block = clipvae::get_int(j, "layers_per_block", w);
    c.norm_num_groups = clipvae::get_int(j, "norm_num_groups", w);
    c.block_out_channels = clipvae::get_ints(j, "block_out_channels", w);
    c.act_fn = clipvae::get_string(j, "act_fn", w);
    c.mid_block_add_attention = clipvae::get_bool(j, "mid_block_add_attention", w, true);
    c.use_quant_conv = clipvae::get_bool(j, "use_quant_conv", w, true);
    c.use_post_quant_conv = clipvae::get_bool(j, "use_post_quant_conv", w, true);
    check_arg(clipvae::known_activation(c.act_fn), "vae config: unsupported act_fn '" + c.act_fn + "'");
    auto down = clipvae::get_strings(j, "down_block_types", w);
    auto up = clipvae::get_strings(j, "up_block_types", w);
    const size_t n = c.block_out_channels.size();
    check_arg(down.size() == n && up.size() == n,
              "vae config: down_block_types, up_block_types and block_out_channels must have the same length");
    for (const auto &t : down) check_arg(t == "DownEncoderBlock2D", "vae config: unsupported down block type '" + t + "'");
    for (const auto &t : up) check_arg(t == "UpDecoderBlock2D", "vae config: unsupported up block type '" + t + "'");
    for (int64_t ch : c.block_out_channels)
        check_arg(ch % c.norm_num_groups == 0, "vae config: block_out_channels " + std::to_string(ch) +
                                                   " is not divisible by norm_num_groups " + std::to_string(c.norm_num_groups));
    return c;
}

ResnetBlock::ResnetBlock(Module &m, const std::string &p, int64_t in, int64_t out, int64_t groups, double eps,
                         const std::string &act_)
    : norm1(m, join(p, "norm1"), groups, in, eps),
      norm2(m, join(p, "norm2"), groups, out, eps),
      conv1(m, join(p, "conv1"), in, out, 3, 1, 1),
      conv2(m, join(p, "conv2"), out, out, 3, 1, 1),
      has_shortcut(in != out),
      act(act_) {
    if (has_shortcut) conv_shortcut = Conv2d(m, join(p, "conv_shortcut"), in, out, 1, 1, 0);
}

at::Tensor ResnetBlock::operator()(const at::Tensor &x) const {
    at::Tensor h = conv1(clipvae::activation(act, norm1(x)));
    h = conv2(clipvae::activation(act, norm2(h)));
    return (has_shortcut ? conv_shortcut(x) : x) + h;
}

SpatialAttention::SpatialAttention(Module &m, const std::string &p, int64_t channels, int64_t groups, double eps)
    : group_norm(m, join(p, "group_norm"), groups, channels, eps),
      to_q(m, join(p, "to_q"), channels, channels),
      to_k(m, join(p, "to_k"), channels, channels),
      to_v(m, join(p, "to_v"), channels, channels),
      to_out(m, join(p, "to_out.0"), channels, channels) {}

at::Tensor SpatialAttention::operator()(const at::Tensor &x) const {
    const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    at::Tensor t = group_norm(x).view({b, c, h * w}).transpose(1, 2);  // [B, HW, C]
    at::Tensor q = to_q(t).unsqueeze(1), k = to_k(t).unsqueeze(1), v = to_v(t).unsqueeze(1);  // one head
    at::Tensor a = to_out(clipvae::attention(q, k, v, at::Tensor(), true).squeeze(1));
    return a.transpose(1, 2).reshape({b, c, h, w}) + x;
}

MidBlock::MidBlock(Module &m, const std::string &p, int64_t ch, int64_t groups, bool add_attention, const std::string &act) {
    resnets.emplace_back(m, join(p, "resnets.0"), ch, ch, groups, kEps, act);
    if (add_attention) attentions.emplace_back(m, join(p, "attentions.0"), ch, groups, kEps);
    resnets.emplace_back(m, join(p, "resnets.1"), ch, ch, groups, kEps, act);
}

at::Tensor MidBlock::operator()(const at::Tensor &x) const {
    at::Tensor h = resnets[0](x);
    if (!attentions.empty()) h = attentions[0](h);
    return resnets[1](h);
}

Encoder::Encoder(Module &m, const Config &c)
    : conv_in(m, "encoder.conv_in", c.in_channels, c.block_out_channels[0], 3, 1, 1),
      mid_block(m, "encoder.mid_block", c.block_out_channels.back(), c.norm_num_groups, c.mid_block_add_attention, c.act_fn),
      act(c.act_fn) {
    const auto &boc = c.block_out_channels;
    int64_t out = boc[0];
    for (size_t i = 0; i < boc.size(); i++) {
        int64_t in = out;
        out = boc[i];
        std::string p = "encoder.down_blocks." + std::to_string(i);
        std::vector<ResnetBlock> rs;
        for (int64_t j = 0; j < c.layers_per_block; j++)
            rs.emplace_back(m, p + ".resnets." + std::to_string(j), j == 0 ? in : out, out, c.norm_num_groups, kEps, c.act_fn);
        down_resnets.push_back(std::move(rs));
        // Downsample2D(use_conv, padding=0): pad right/bottom by one, then a stride-2 3x3 conv.
        downsamplers.push_back(i + 1 < boc.size() ? Conv2d(m, p + ".downsamplers.0.conv", out, out, 3, 2, 0) : Conv2d());
    }
    conv_norm_out = GroupNorm(m, "encoder.conv_norm_out", c.norm_num_groups, boc.back(), kEps);
    conv_out = Conv2d(m, "encoder.conv_out", boc.back(), 2 * c.latent_channels, 3, 1, 1);
}

at::Tensor Encoder::operator()(const at::Tensor &x) const {
    at::Tensor h = conv_in(x);
    for (size_t i = 0; i < down_resnets.size(); i++) {
        for (const auto &r : down_resnets[i]) h = r(h);
        if (downsamplers[i].weight.defined()) h = downsamplers[i](at::constant_pad_nd(h, {0, 1, 0, 1}, 0));
    }
    h = mid_block(h);
    return conv_out(clipvae::activation(act, conv_norm_out(h)));
}

Decoder::Decoder(Module &m, const Config &c)
    : conv_in(m, "decoder.conv_in", c.latent_channels, c.block_out_channels.back(), 3, 1, 1),
      mid_block(m, "decoder.mid_block", c.block_out_channels.back(), c.norm_num_groups, c.mid_block_add_attention, c.act_fn),
      act(c.act_fn) {
    std::vector<int64_t> rev(c.block_out_channels.rbegin(), c.block_out_channels.rend());
    int64_t out = rev[0];
    for (size_t i = 0; i < rev.size(); i++) {
        int64_t in = out;
        out = rev[i];
        std::string p = "decoder.up_blocks." + std::to_string(i);
        std::vector<ResnetBlock> rs;
        for (int64_t j = 0; j < c.layers_per_block + 1; j++)
            rs.emplace_back(m, p + ".resnets." + std::to_string(j), j == 0 ? in : out, out, c.norm_num_groups, kEps, c.act_fn);
        up_resnets.push_back(std::move(rs));
        upsamplers.push_back(i + 1 < rev.size() ? Conv2d(m, p + ".upsamplers.0.conv", out, out, 3, 1, 1) : Conv2d());
    }
    conv_norm_out = GroupNorm(m, "decoder.conv_norm_out", c.norm_num_groups, c.block_out_channels[0], kEps);
    conv_out = Conv2d(m, "decoder.conv_out", c.block_out_channels[0], c.out_channels, 3, 1, 1);
}

at::Tensor Decoder::operator()(const at::Tensor &z) const {
    at::Tensor h = mid_block(conv_in(z));
    for (size_t i = 0; i < up_resnets.size(); i++) {
        for (const auto &r : up_resnets[i]) h = r(h);
        if (upsamplers[i].weight.defined())
            h = upsamplers[i](at::upsample_nearest2d(h, {h.size(2) * 2, h.size(3) * 2}, 2.0, 2.0));
    }
    return conv_out(clipvae::activation(act, conv_norm_out(h)));
}

Vae::Vae(const Config &c) : config(c), encoder(*this, c), decoder(*this, c) {
    if (c.use_quant_conv) quant_conv = Conv2d(*this, "quant_conv", 2 * c.latent_channels, 2 * c.latent_channels, 1);
    if (c.use_post_quant_conv) post_quant_conv = Conv2d(*this, "post_quant_conv", c.latent_channels, c.latent_channels, 1);
}

at::Tensor Vae::decode(const at::Tensor &z) const {
    check_arg(z.defined() && z.dim() == 4 && z.size(1) == config.latent_channels,
              "latents must be [batch, " + std::to_string(config.latent_channels) + ", height, width], got " +
                  (z.defined() ? c10::str(z.sizes()) : std::string("undefined")));
    check_arg(at::isFloatingType(z.scalar_type()), "latents must be floating point");
    at::Tensor x = z.to(device(), dtype());
    if (post_quant_conv.weight.defined()) x = post_quant_conv(x);
    return decoder(x);
}

std::pair<at::Tensor, at::Tensor> Vae::encode(const at::Tensor &images) const {
    check_arg(images.defined() && images.dim() == 4 && images.size(1) == config.in_channels,
              "images must be [batch, " + std::to_string(config.in_channels) + ", height, width], got " +
                  (images.defined() ? c10::str(images.sizes()) : std::string("undefined")));
    check_arg(at::isFloatingType(images.scalar_type()), "images must be floating point");
    const int64_t factor = int64_t(1) << (config.block_out_channels.size() - 1);
    check_arg(images.size(2) % factor == 0 && images.size(3) % factor == 0,
              "image height and width must be multiples of " + std::to_string(factor) + ", got " + c10::str(images.sizes()));
    at::Tensor h = encoder(images.to(device(), dtype()));
    if (quant_conv.weight.defined()) h = quant_conv(h);
    auto parts = h.chunk(2, 1);
    return {parts[0], at::clamp(parts[1], -30.0, 20.0)};
}

}  // namespace vae
}  // namespace clif

using clif::not_null;
using clif::unwrap;
using clif::wrap;

extern "C" {

int32_t clif_vae_new(const char *config_json, int64_t len, clif_module *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        auto config = clif::vae::Config::parse(clif::clipvae::parse_config(config_json, len, "vae"));
        *out = clif::wrap_module(std::make_unique<clif::vae::Vae>(config), "vae");
    });
}

int32_t clif_vae_decode(clif_module m, clif_tensor latents, int32_t grad, clif_tensor *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        auto &model = clif::unwrap_module<clif::vae::Vae>(m, "vae");
        clif::GradMode mode(grad != 0);
        *out = wrap(model.decode(unwrap(latents, "latents")));
    });
}

int32_t clif_vae_encode(clif_module m, clif_tensor images, int32_t grad, clif_tensor *out_mean, clif_tensor *out_logvar) {
    return clif::guard(__func__, [&] {
        not_null(out_mean, "out_mean");
        not_null(out_logvar, "out_logvar");
        auto &model = clif::unwrap_module<clif::vae::Vae>(m, "vae");
        clif::GradMode mode(grad != 0);
        auto r = model.encode(unwrap(images, "images"));
        *out_mean = wrap(r.first);
        *out_logvar = wrap(r.second);
    });
}

}
