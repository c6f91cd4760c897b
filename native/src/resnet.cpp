// ResnetBlock2D and the down/up samplers of the UNet.
#include "resnet.h"

namespace clif {

namespace {
bool inplace_ok(const at::Tensor &x) { return !(at::GradMode::is_enabled() && x.requires_grad()); }
}  // namespace

ResnetBlock2D::ResnetBlock2D(Module &m, const std::string &prefix, int64_t in, int64_t out, int64_t temb_channels,
                             int64_t groups, double eps, Activation act_, double output_scale_factor_)
    : norm1(m, join(prefix, "norm1"), groups, in, eps),
      norm2(m, join(prefix, "norm2"), groups, out, eps),
      conv1(m, join(prefix, "conv1"), in, out, 3, 1, 1),
      conv2(m, join(prefix, "conv2"), out, out, 3, 1, 1),
      time_emb_proj(m, join(prefix, "time_emb_proj"), temb_channels, out),
      act(act_),
      output_scale_factor(output_scale_factor_) {
    if (in != out) conv_shortcut = Conv2d(m, join(prefix, "conv_shortcut"), in, out, 1, 1, 0);
}

at::Tensor ResnetBlock2D::operator()(const at::Tensor &x, const at::Tensor &temb_act) const {
    at::Tensor h = activate_(act, norm1(x));
    h = conv(conv1, h);
    // temb: [B, C] -> [B, C, 1, 1], added (broadcast) to the conv output.
    at::Tensor t = dense(time_emb_proj, temb_act);
    if (inplace_ok(h) && inplace_ok(t))
        h.add_(t.unsqueeze(-1).unsqueeze(-1));
    else
        h = h.add(t.unsqueeze(-1).unsqueeze(-1));
    h = activate_(act, norm2(h));
    // dropout: inference / p = 0 in every SD UNet, nothing to do.
    h = conv(conv2, h);
    at::Tensor skip = conv_shortcut.weight.defined() ? conv(conv_shortcut, x) : x;
    if (inplace_ok(h) && inplace_ok(skip)) {
        // (skip + h) / s, computed as diffusers does (the addition order does not change the float sum).
        h.add_(skip);
    } else {
        h = skip.add(h);
    }
    if (output_scale_factor != 1.0) h = inplace_ok(h) ? h.div_(output_scale_factor) : h.div(output_scale_factor);
    return h;
}

Downsample2D::Downsample2D(Module &m, const std::string &prefix, int64_t channels, int64_t padding_)
    : conv(m, join(prefix, "conv"), channels, channels, 3, 2, padding_), padding(padding_) {}

at::Tensor Downsample2D::operator()(const at::Tensor &x) const {
    if (padding == 0) return clif::conv(conv, at::constant_pad_nd(x, {0, 1, 0, 1}, 0));
    return clif::conv(conv, x);
}

Upsample2D::Upsample2D(Module &m, const std::string &prefix, int64_t channels)
    : conv(m, join(prefix, "conv"), channels, channels, 3, 1, 1) {}

at::Tensor Upsample2D::operator()(const at::Tensor &x, at::IntArrayRef size) const {
    at::Tensor h;
    if (x.scalar_type() == at::kBFloat16)  // upsample_nearest2d lacks bfloat16 kernels in older libtorch
        h = at::upsample_nearest2d(x.to(at::kFloat), size).to(at::kBFloat16);
    else
        h = at::upsample_nearest2d(x, size);
    return clif::conv(conv, h);
}

}  // namespace clif
