// Multi-head attention and the GEGLU feed-forward of the UNet's transformer blocks.
#include "attention.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "embeddings.h"
#include "routes.h"

namespace clif {

namespace {

// ---- fused CPU attention for inference (float32, no autograd) -------------------------------------------
// softmax(q k^T * scale) v row by row, with k and v transposed to [B, H, D, T] so that every inner loop runs
// over the keys (contiguous): scores as D axpys, softmax, output as D dot products. Reading q and writing
// the output in their [B, S, H*D] layout saves the head transposes. Loops are written so that GCC vectorizes
// them (8 independent lanes for reductions); the AVX2/FMA instance is picked at run time.

// exp(x) for x <= 0 (Cephes' expf polynomial; relative error ~2e-7), written to vectorize.
__attribute__((always_inline, optimize("no-trapping-math"))) inline float exp_nonpositive(float x) {
    x = x < -87.0f ? -87.0f : x;
    // n = round(x / ln 2) by the 1.5 * 2^23 trick (no floor call, so the loop vectorizes)
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float y = p * r * r + r + 1.0f;
    const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
    return y * __builtin_bit_cast(float, bits);
}

struct HeadArgs {
    const float *q;   // [S, ld_q] rows; this head's D values start at q
    const float *kt;  // [D, T]
    const float *vt;  // [D, T]
    float *out;       // [S, ld_o] rows
    int64_t S, T, D, ld_q, ld_o;
    float scale;
    float *scores;    // T floats of scratch
};

__attribute__((always_inline, optimize("no-trapping-math"))) inline void head_rows(const HeadArgs &a) {
    const int64_t T = a.T, D = a.D;
    float *__restrict sc = a.scores;
    for (int64_t s = 0; s < a.S; s++) {
        const float *qr = a.q + s * a.ld_q;
        {
            const float q0 = qr[0] * a.scale;
            const float *__restrict k0 = a.kt;
            for (int64_t t = 0; t < T; t++) sc[t] = q0 * k0[t];
        }
        for (int64_t d = 1; d < D; d++) {
            const float qd = qr[d] * a.scale;
            const float *__restrict kd = a.kt + d * T;
            for (int64_t t = 0; t < T; t++) sc[t] += qd * kd[t];
        }
        float mx[8];
        for (int j = 0; j < 8; j++) mx[j] = -INFINITY;
        int64_t t = 0;
        for (; t + 8 <= T; t += 8)
            for (int j = 0; j < 8; j++) mx[j] = sc[t + j] > mx[j] ? sc[t + j] : mx[j];
        for (; t < T; t++) mx[0] = sc[t] > mx[0] ? sc[t] : mx[0];
        float m = mx[0];
        for (int j = 1; j < 8; j++) m = mx[j] > m ? mx[j] : m;
        for (int64_t u = 0; u < T; u++) sc[u] = exp_nonpositive(sc[u] - m);
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        t = 0;
        for (; t + 8 <= T; t += 8)
            for (int j = 0; j < 8; j++) acc[j] += sc[t + j];
        float sum = 0;
        for (int j = 0; j < 8; j++) sum += acc[j];
        for (; t < T; t++) sum += sc[t];
        const float inv = 1.0f / sum;
        float *orow = a.out + s * a.ld_o;
        for (int64_t d = 0; d < D; d++) {
            const float *__restrict vd = a.vt + d * T;
            float dot[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            int64_t u = 0;
            for (; u + 8 <= T; u += 8)
                for (int j = 0; j < 8; j++) dot[j] += sc[u + j] * vd[u + j];
            float r = 0;
            for (int j = 0; j < 8; j++) r += dot[j];
            for (; u < T; u++) r += sc[u] * vd[u];
            orow[d] = r * inv;
        }
    }
}

// no-trapping-math lets GCC turn the clamps into vector blends; it changes no result.
__attribute__((target("avx2,fma"), optimize("no-trapping-math"))) void head_rows_avx2(const HeadArgs &a) { head_rows(a); }
__attribute__((optimize("no-trapping-math"))) void head_rows_generic(const HeadArgs &a) { head_rows(a); }

bool has_avx2() {
    static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return yes;
}

// q [B, S, H*D], k/v [B, T, H*D] (float32, CPU) -> [B, S, H*D].
at::Tensor fused_attention(const at::Tensor &q_in, const at::Tensor &k, const at::Tensor &v, int64_t heads,
                           int64_t head_dim, double scale) {
    const at::Tensor q = q_in.contiguous();
    const int64_t B = q.size(0), S = q.size(1), T = k.size(1), C = heads * head_dim;
    const at::Tensor kt = k.view({B, T, heads, head_dim}).permute({0, 2, 3, 1}).contiguous();  // [B, H, D, T]
    const at::Tensor vt = v.view({B, T, heads, head_dim}).permute({0, 2, 3, 1}).contiguous();
    at::Tensor out = at::empty({B, S, C}, q.options());
    const float *qp = q.data_ptr<float>(), *kp = kt.data_ptr<float>(), *vp = vt.data_ptr<float>();
    float *op = out.data_ptr<float>();
    const bool avx2 = has_avx2();
    at::parallel_for(0, B * heads, 1, [&](int64_t begin, int64_t end) {
        std::vector<float> scratch(static_cast<size_t>(T));
        for (int64_t bh = begin; bh < end; bh++) {
            const int64_t b = bh / heads, h = bh % heads;
            HeadArgs a{qp + b * S * C + h * head_dim, kp + bh * head_dim * T, vp + bh * head_dim * T,
                       op + b * S * C + h * head_dim, S, T, head_dim, C, C, static_cast<float>(scale),
                       scratch.data()};
            if (avx2)
                head_rows_avx2(a);
            else
                head_rows_generic(a);
        }
    });
    return out;
}

// The fused kernel has no backward: it is a route only when autograd records nothing. Whether it beats
// matmul-softmax-matmul depends on the size (it wins where per-op overhead dominates, tiny-sd; BLAS products
// win on large problems) and the machine: routes.h times both.
bool fused_ok(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v) {
    if (at::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad())) return false;
    return q.is_cpu() && q.scalar_type() == at::kFloat && k.scalar_type() == at::kFloat &&
           v.scalar_type() == at::kFloat && k.is_contiguous() && v.is_contiguous() && k.size(1) > 0;
}

}  // namespace

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
    const at::Tensor q = dense(to_q, x), k = dense(to_k, context), v = dense(to_v, context);
    auto matmul_route = [&] {
        // [B, S, H*D] -> [B, H, S, D] (views; the batched matmuls copy what they must).
        at::Tensor o = attention_core(q.view({B, S, heads, head_dim}).transpose(1, 2),
                                      k.view({B, T, heads, head_dim}).transpose(1, 2),
                                      v.view({B, T, heads, head_dim}).transpose(1, 2), scale, upcast);
        return o.transpose(1, 2).reshape({B, S, heads * head_dim});
    };
    auto fused_route = [&] { return fused_attention(q, k, v, heads, head_dim, scale); };
    routes::Route candidates[] = {{"fused", fused_route}, {"matmul", matmul_route}};
    size_t first = 1;
#if TORCH_VERSION_MAJOR < 2
    // float32 inference on the CPU: the fused kernel too (upcasting is moot in float32).
    if (fused_ok(q, k, v)) first = 0;
#endif
    at::Tensor o = routes::run(routes::Op::Attention, {B, heads, S, T, head_dim}, q.scalar_type(),
                               c10::ArrayRef<routes::Route>(candidates).slice(first));
    return dense(to_out, o);
}

FeedForward::FeedForward(Module &m, const std::string &prefix, int64_t dim, int64_t inner)
    : proj(m, join(prefix, "net.0.proj"), dim, inner * 2), out(m, join(prefix, "net.2"), inner, dim) {}

at::Tensor FeedForward::operator()(const at::Tensor &x) const {
    at::Tensor h = dense(proj, x);
    auto parts = h.chunk(2, -1);
    // hidden * gelu(gate) (exact erf GELU, as diffusers' GEGLU).
    return dense(out, parts[0].mul(at::gelu(parts[1])));
}

}  // namespace clif
