// Timestep embeddings and activations for the UNet.
#include "embeddings.h"

#include <cmath>

#include "routes.h"

namespace clif {

Activation parse_activation(const std::string &name, const std::string &field) {
    std::string n;
    for (char c : name) n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (n.empty() || n == "none") return Activation::None;
    if (n == "silu" || n == "swish") return Activation::SiLU;
    if (n == "gelu") return Activation::GELU;
    if (n == "mish") return Activation::Mish;
    if (n == "relu") return Activation::ReLU;
    throw std::invalid_argument(field + ": unsupported activation '" + name + "' (use silu, swish, gelu, mish or relu)");
}

at::Tensor activate(Activation act, const at::Tensor &x) {
    switch (act) {
        case Activation::None: return x;
        case Activation::SiLU: return at::silu(x);
        case Activation::GELU: return at::gelu(x);
        case Activation::Mish: return at::mish(x);
        case Activation::ReLU: return at::relu(x);
    }
    return x;
}

namespace {
bool use_onednn(const at::Tensor &x, const at::Tensor &w) {
    static const bool available = at::hasMKLDNN();
    return available && x.is_cpu() && x.scalar_type() == at::kFloat && w.scalar_type() == at::kFloat &&
           !clif::autocast_enabled(false);
}

at::Tensor dense_onednn(const Linear &l, const at::Tensor &x, int64_t rows, int64_t in, int64_t out) {
    // x's [rows, in] memory is, unchanged, one channels-last picture of rows x 1 pixels with `in` channels, so
    // oneDNN runs one 1x1 convolution over all rows (a real matrix product) and writes its channels-last output
    // straight into [rows, out]: no copies either way. (As rows pictures of 1x1 pixels it ran several times
    // slower than the BLAS on SD-1.5's layers.)
    const at::Tensor xc = x.contiguous();
    at::Tensor x4 = xc.as_strided({1, in, rows, 1}, {rows * in, 1, in, in});
    at::Tensor w4 = l.weight.view({out, in, 1, 1});
    at::Tensor y = at::mkldnn_convolution(x4, w4, l.bias, {0, 0}, {1, 1}, {1, 1}, 1);
    std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
    shape.back() = out;
    return y.permute({0, 2, 3, 1}).reshape(shape);
}

// A 1x1 convolution as one matrix product per image: [out, in] x [in, h*w].
at::Tensor conv1x1_blas(const Conv2d &c, const at::Tensor &x) {
    const int64_t n = x.size(0), in = x.size(1), h = x.size(2), w = x.size(3), out = c.weight.size(0);
    at::Tensor y = at::matmul(c.weight.view({out, in}), x.reshape({n, in, h * w}));
    if (c.bias.defined()) y.add_(c.bias.view({out, 1}));
    return y.view({n, out, h, w});
}

at::Tensor conv_onednn(const Conv2d &c, const at::Tensor &x) {
    return at::mkldnn_convolution(x.contiguous(), c.weight, c.bias, {c.padding, c.padding}, {c.stride, c.stride},
                                  {1, 1}, 1);
}

}  // namespace

// Which of oneDNN's 1x1 convolution and the BLAS is faster depends on the layer's size and the machine
// (oneDNN wins on small layers, where call overhead dominates; on some machines the BLAS wins on large ones,
// where oneDNN re-lays out the weights every call): routes.h times both per shape.
at::Tensor dense(const Linear &l, const at::Tensor &x) {
    if (!use_onednn(x, l.weight) || x.dim() < 1) return at::linear(x, l.weight, l.bias);
    const int64_t in = l.weight.size(1), out = l.weight.size(0);
    const int64_t rows = in == 0 ? 0 : x.numel() / in;
    return routes::run(routes::Op::Dense, {rows, in, out}, x.scalar_type(),
                       {{"onednn", [&] { return dense_onednn(l, x, rows, in, out); }},
                        {"blas", [&] { return at::linear(x, l.weight, l.bias); }}},
                       {x, l.weight, l.bias});
}

// Convolutions have two kernels too. oneDNN re-lays out the weights on every call (OIHW to its blocked format), which
// costs more than the convolution itself where the picture is small and the layer wide (SD-1.5's 1280-channel
// 3x3 convolutions at 8x8 and 4x4: 59 MB of weights for 16-64 pixels); im2col + BLAS (ATen's slow_conv2d) reads
// the weights as they are. 1x1 convolutions (proj_in/out, conv_shortcut) are plain matrix products.
at::Tensor conv(const Conv2d &c, const at::Tensor &x) {
    if (!use_onednn(x, c.weight)) return c(x);
    const bool pointwise = c.weight.dim() == 4 && c.weight.size(2) == 1 && c.weight.size(3) == 1 && c.stride == 1 &&
                           c.padding == 0 && x.dim() == 4;
    if (!pointwise) {
        if (x.dim() != 4 || c.weight.dim() != 4 || c.weight.size(2) != c.weight.size(3)) return conv_onednn(c, x);
        const int64_t k = c.weight.size(2);
        return routes::run(routes::Op::Conv, {x.size(0), x.size(1), c.weight.size(0), x.size(2), x.size(3), k, c.stride},
                           x.scalar_type(),
                           {{"onednn", [&] { return conv_onednn(c, x); }},
                            {"blas", [&] {
                                 return at::thnn_conv2d(x.contiguous(), c.weight, {k, k}, c.bias, {c.stride, c.stride},
                                                        {c.padding, c.padding});
                             }}},
                           {x, c.weight, c.bias});
    }
    return routes::run(routes::Op::Conv1x1,
                       {x.size(0), x.size(1), c.weight.size(0), x.size(2), x.size(3)},
                       x.scalar_type(),
                       {{"onednn", [&] { return conv_onednn(c, x); }}, {"blas", [&] { return conv1x1_blas(c, x); }}},
                       {x, c.weight, c.bias});
}

at::Tensor activate_(Activation act, at::Tensor x) {
    if (at::GradMode::is_enabled() && x.requires_grad()) return activate(act, x);
    switch (act) {
        case Activation::None: return x;
        case Activation::SiLU: return at::silu_(x);
        case Activation::GELU: return at::gelu_(x);
        case Activation::Mish: return at::mish_(x);
        case Activation::ReLU: return at::relu_(x);
    }
    return x;
}

at::Tensor timestep_embedding(const at::Tensor &timesteps, int64_t dim, bool flip_sin_to_cos, double shift,
                              double max_period) {
    if (timesteps.dim() != 1) throw std::invalid_argument("timesteps must be 1-D here");
    const int64_t half = dim / 2;
    auto f32 = at::TensorOptions().dtype(at::kFloat).device(timesteps.device());
    // Same op sequence (and so the same float32 rounding) as diffusers.
    at::Tensor exponent = at::arange(0, half, f32).mul(-std::log(max_period));
    exponent = exponent.div(static_cast<double>(half) - shift);
    at::Tensor freqs = exponent.exp();
    at::Tensor emb = timesteps.unsqueeze(1).to(at::kFloat).mul(freqs.unsqueeze(0));
    at::Tensor out = flip_sin_to_cos ? at::cat({emb.cos(), emb.sin()}, -1) : at::cat({emb.sin(), emb.cos()}, -1);
    if (dim % 2 == 1) out = at::constant_pad_nd(out, {0, 1, 0, 0}, 0);
    return out;
}

TimestepEmbedding::TimestepEmbedding(Module &m, const std::string &prefix, int64_t in, int64_t dim, Activation act_,
                                     Activation post_act_)
    : linear_1(m, join(prefix, "linear_1"), in, dim), linear_2(m, join(prefix, "linear_2"), dim, dim),
      act(act_), post_act(post_act_) {}

at::Tensor TimestepEmbedding::operator()(const at::Tensor &x) const {
    at::Tensor h = activate_(act, dense(linear_1, x));
    h = dense(linear_2, h);
    return activate_(post_act, h);
}

}  // namespace clif
