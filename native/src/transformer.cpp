// The spatial transformer of the UNet's cross-attention blocks.
#include "transformer.h"

#include "embeddings.h"

namespace clif {

namespace {
bool inplace_ok(const at::Tensor &x) { return !(at::GradMode::is_enabled() && x.requires_grad()); }

// a + b, in place into a when autograd allows (a is a fresh intermediate).
at::Tensor add_into(at::Tensor a, const at::Tensor &b) {
    if (inplace_ok(a) && inplace_ok(b)) return a.add_(b);
    return a.add(b);
}
}  // namespace

BasicTransformerBlock::BasicTransformerBlock(Module &m, const std::string &prefix, int64_t dim, int64_t heads,
                                             int64_t head_dim, int64_t cross_attention_dim, bool only_cross,
                                             bool upcast)
    : norm1(m, join(prefix, "norm1"), dim, 1e-5),
      norm2(m, join(prefix, "norm2"), dim, 1e-5),
      norm3(m, join(prefix, "norm3"), dim, 1e-5),
      attn1(m, join(prefix, "attn1"), dim, only_cross ? cross_attention_dim : dim, heads, head_dim, upcast),
      attn2(m, join(prefix, "attn2"), dim, cross_attention_dim, heads, head_dim, upcast),
      ff(m, join(prefix, "ff"), dim, dim * 4),
      only_cross_attention(only_cross) {}

at::Tensor BasicTransformerBlock::operator()(const at::Tensor &x, const at::Tensor &context) const {
    at::Tensor n = norm1(x);
    at::Tensor h = add_into(attn1(n, only_cross_attention ? context : n), x);
    h = add_into(attn2(norm2(h), context), h);
    return add_into(ff(norm3(h)), h);
}

Transformer2DModel::Transformer2DModel(Module &m, const std::string &prefix, int64_t channels,
                                       const TransformerOptions &o)
    : norm(m, join(prefix, "norm"), o.norm_groups, channels, 1e-6), linear(o.use_linear_projection) {
    check_arg(o.heads > 0 && channels % o.heads == 0,
              prefix + ": " + std::to_string(channels) + " channels cannot be split into " + std::to_string(o.heads) +
                  " attention heads");
    const int64_t head_dim = channels / o.heads;
    inner = o.heads * head_dim;
    if (linear)
        proj_in_linear = Linear(m, join(prefix, "proj_in"), channels, inner);
    else
        proj_in_conv = Conv2d(m, join(prefix, "proj_in"), channels, inner, 1);
    blocks.reserve(static_cast<size_t>(o.layers));
    for (int64_t i = 0; i < o.layers; i++)
        blocks.emplace_back(m, join(prefix, "transformer_blocks." + std::to_string(i)), inner, o.heads, head_dim,
                            o.cross_attention_dim, o.only_cross_attention, o.upcast_attention);
    if (linear)
        proj_out_linear = Linear(m, join(prefix, "proj_out"), inner, channels);
    else
        proj_out_conv = Conv2d(m, join(prefix, "proj_out"), inner, channels, 1);
}

at::Tensor Transformer2DModel::operator()(const at::Tensor &x, const at::Tensor &context) const {
    const int64_t B = x.size(0), H = x.size(2), W = x.size(3);
    at::Tensor h = norm(x);
    // [B, C, H, W] -> [B, H*W, C]
    if (linear) {
        h = dense(proj_in_linear, h.permute({0, 2, 3, 1}).reshape({B, H * W, h.size(1)}));
    } else {
        h = conv(proj_in_conv, h);
        h = h.permute({0, 2, 3, 1}).reshape({B, H * W, inner});
    }
    for (const auto &block : blocks) h = block(h, context);
    if (linear) {
        h = dense(proj_out_linear, h);
        h = h.reshape({B, H, W, h.size(2)}).permute({0, 3, 1, 2}).contiguous();
    } else {
        h = h.reshape({B, H, W, inner}).permute({0, 3, 1, 2}).contiguous();
        h = conv(proj_out_conv, h);
    }
    return add_into(h, x);
}

}  // namespace clif
