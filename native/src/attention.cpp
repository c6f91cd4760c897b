// Multi-head attention and the GEGLU feed-forward of the UNet's transformer blocks.
#include "attention.h"

#include <cmath>

namespace clif {

at::Tensor attention_core(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, double scale, bool upcast) {
    const auto dtype = q.scalar_type();
#if TORCH_VERSION_MAJOR >= 2
    if (upcast && dtype != at::kFloat && dtype != at::kDouble) {
        return at::scaled_dot_product_attention(q.to(at::kFloat), k.to(at::kFloat), v.to(at::kFloat)).to(dtype);
    }
    // SDPA's default scale is 1/sqrt(head_dim), which is what every caller here passes.
    (void)scale;
    return at::scaled_dot_product_attention(q, k, v);
#else
    // Not baddbmm: with beta = 0 on an uninitialised input, libtorch 1.13 returns NaN on small problems.
    const bool up = upcast && dtype != at::kFloat && dtype != at::kDouble;
    at::Tensor qs = (up ? q.to(at::kFloat) : q).mul(scale);
    at::Tensor scores = at::matmul(qs, (up ? k.to(at::kFloat) : k).transpose(-1, -2));
    at::Tensor probs = at::_softmax(scores, -1, false);
    if (probs.scalar_type() != v.scalar_type()) probs = probs.to(v.scalar_type());
    return at::matmul(probs, v);
#endif
}

Attention::Attention(Module &m, const std::string &prefix, int64_t query_dim, int64_t context_dim, int64_t heads_,
                     int64_t head_dim_, bool upcast_attention)
    : to_q(m, join(prefix, "to_q"), query_dim, heads_ * head_dim_, false),
      to_k(m, join(prefix, "to_k"), context_dim, heads_ * head_dim_, false),
      to_v(m, join(prefix, "to_v"), context_dim, heads_ * head_dim_, false),
      to_out(m, join(prefix, "to_out.0"), heads_ * head_dim_, query_dim, true),
      heads(heads_),
      head_dim(head_dim_),
      scale(1.0 / std::sqrt(static_cast<double>(head_dim_))),
      upcast(upcast_attention) {}

at::Tensor Attention::operator()(const at::Tensor &x, const at::Tensor &context) const {
    const int64_t B = x.size(0), S = x.size(1), T = context.size(1);
    // [B, S, H*D] -> [B, H, S, D] (views; the batched matmuls copy what they must).
    at::Tensor q = to_q(x).view({B, S, heads, head_dim}).transpose(1, 2);
    at::Tensor k = to_k(context).view({B, T, heads, head_dim}).transpose(1, 2);
    at::Tensor v = to_v(context).view({B, T, heads, head_dim}).transpose(1, 2);
    at::Tensor o = attention_core(q, k, v, scale, upcast);
    return to_out(o.transpose(1, 2).reshape({B, S, heads * head_dim}));
}

FeedForward::FeedForward(Module &m, const std::string &prefix, int64_t dim, int64_t inner)
    : proj(m, join(prefix, "net.0.proj"), dim, inner * 2), out(m, join(prefix, "net.2"), inner, dim) {}

at::Tensor FeedForward::operator()(const at::Tensor &x) const {
    at::Tensor h = proj(x);
    auto parts = h.chunk(2, -1);
    // hidden * gelu(gate) (exact erf GELU, as diffusers' GEGLU).
    return out(parts[0].mul(at::gelu(parts[1])));
}

}  // namespace clif
