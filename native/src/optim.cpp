// clif_optim_*: AdamW over selected parameters of a module, with global gradient-norm clipping.
//
// The update is PyTorch's single-tensor AdamW, written out so that it is the same on every libtorch and
// its state (exp_avg, exp_avg_sq, step) can be checkpointed and restored bit for bit.
#include "module.h"

#include <cmath>

using clif::check_arg;
using clif::not_null;

struct clif_optim_s {
    std::vector<std::string> names;
    std::vector<at::Tensor> params;  // share the module's TensorImpls
    std::vector<at::Tensor> exp_avg, exp_avg_sq;
    int64_t step = 0;
    double lr, beta1, beta2, eps, weight_decay;
};

namespace {

clif_optim_s &unwrap_optim(clif_optim o) { return *not_null(o, "optimizer"); }

double grad_norm(const clif_optim_s &o) {
    double total = 0;
    for (const auto &p : o.params) {
        const auto &g = p.grad();
        if (!g.defined()) continue;
        double n = g.detach().to(at::kDouble).norm().item<double>();
        total += n * n;
    }
    return std::sqrt(total);
}

}  // namespace

extern "C" {

int32_t clif_optim_adamw_new(clif_module m, const char *const *names, const int64_t *name_lens, int32_t count,
                             double lr, double beta1, double beta2, double eps, double weight_decay, clif_optim *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        auto &mod = *not_null(m, "module")->module;
        check_arg(count > 0, "an optimizer needs at least one parameter");
        not_null(names, "names");
        not_null(name_lens, "name_lens");
        check_arg(lr >= 0 && std::isfinite(lr), "lr must be a finite number >= 0");
        check_arg(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "betas must lie in [0, 1)");
        check_arg(eps > 0, "eps must be positive");
        check_arg(weight_decay >= 0, "weight_decay must be >= 0");
        auto o = std::make_unique<clif_optim_s>();
        o->lr = lr;
        o->beta1 = beta1;
        o->beta2 = beta2;
        o->eps = eps;
        o->weight_decay = weight_decay;
        for (int32_t i = 0; i < count; i++) {
            std::string name(not_null(names[i], "names[i]"), static_cast<size_t>(name_lens[i]));
            at::Tensor &p = mod.get(name);
            check_arg(at::isFloatingType(p.scalar_type()), "parameter '" + name + "' is not floating point");
            p.set_requires_grad(true);
            o->names.push_back(name);
            o->params.push_back(p);
            o->exp_avg.push_back(at::zeros_like(p, at::MemoryFormat::Contiguous));
            o->exp_avg_sq.push_back(at::zeros_like(p, at::MemoryFormat::Contiguous));
        }
        *out = o.release();
    });
}

void clif_optim_free(clif_optim o) {
    try {
        delete o;
    } catch (...) {
    }
}

int32_t clif_optim_step(clif_optim o, double max_grad_norm, double *out_grad_norm) {
    return clif::guard(__func__, [&] {
        auto &s = unwrap_optim(o);
        at::NoGradGuard no_grad;
        double norm = grad_norm(s);
        if (out_grad_norm != nullptr) *out_grad_norm = norm;
        check_arg(std::isfinite(norm), "gradient norm is not finite (" + std::to_string(norm) + "): step skipped");
        double clip = 1.0;
        if (max_grad_norm > 0 && norm > max_grad_norm) clip = max_grad_norm / (norm + 1e-6);
        s.step += 1;
        double bias1 = 1 - std::pow(s.beta1, static_cast<double>(s.step));
        double bias2 = 1 - std::pow(s.beta2, static_cast<double>(s.step));
        double step_size = s.lr / bias1;
        double bias2_sqrt = std::sqrt(bias2);
        for (size_t i = 0; i < s.params.size(); i++) {
            at::Tensor &p = s.params[i];
            at::Tensor g = p.grad();
            if (!g.defined()) continue;
            if (clip != 1.0) g = g * clip;
            if (s.weight_decay != 0) p.mul_(1 - s.lr * s.weight_decay);
            s.exp_avg[i].lerp_(g, 1 - s.beta1);
            s.exp_avg_sq[i].mul_(s.beta2).addcmul_(g, g, 1 - s.beta2);
            at::Tensor denom = (s.exp_avg_sq[i].sqrt() / bias2_sqrt).add_(s.eps);
            p.addcdiv_(s.exp_avg[i], denom, -step_size);
        }
    });
}

int32_t clif_optim_unscale_grads(clif_optim o, double inv_scale, int32_t *out_found_inf) {
    return clif::guard(__func__, [&] {
        auto &s = unwrap_optim(o);
        not_null(out_found_inf, "out_found_inf");
        check_arg(std::isfinite(inv_scale) && inv_scale > 0, "inv_scale must be a finite number > 0");
        at::NoGradGuard no_grad;
        // One flag on the device, read once: a read per tensor would synchronise with the GPU for each of them.
        at::Tensor all_finite;
        for (auto &p : s.params) {
            at::Tensor &g = p.mutable_grad();
            if (!g.defined()) continue;
            g.mul_(inv_scale);
            at::Tensor ok = g.isfinite().all();
            all_finite = all_finite.defined() ? all_finite.logical_and(ok) : ok;
        }
        *out_found_inf = all_finite.defined() && !all_finite.item<bool>() ? 1 : 0;
    });
}

int32_t clif_optim_zero_grad(clif_optim o) {
    return clif::guard(__func__, [&] {
        for (auto &p : unwrap_optim(o).params)
            if (p.grad().defined()) p.mutable_grad() = at::Tensor();
    });
}

int32_t clif_optim_set_lr(clif_optim o, double lr) {
    return clif::guard(__func__, [&] {
        check_arg(lr >= 0 && std::isfinite(lr), "lr must be a finite number >= 0");
        unwrap_optim(o).lr = lr;
    });
}

int32_t clif_optim_param_count(clif_optim o, int64_t *out_count) {
    return clif::guard(__func__, [&] { *not_null(out_count, "out_count") = static_cast<int64_t>(unwrap_optim(o).params.size()); });
}

int32_t clif_optim_get_state(clif_optim o, int64_t index, clif_tensor *out_exp_avg, clif_tensor *out_exp_avg_sq,
                             int64_t *out_step) {
    return clif::guard(__func__, [&] {
        auto &s = unwrap_optim(o);
        check_arg(index >= 0 && index < static_cast<int64_t>(s.params.size()), "optimizer state index out of range");
        not_null(out_exp_avg, "out_exp_avg");
        not_null(out_exp_avg_sq, "out_exp_avg_sq");
        *not_null(out_step, "out_step") = s.step;
        *out_exp_avg = clif::wrap(s.exp_avg[static_cast<size_t>(index)].clone());
        *out_exp_avg_sq = clif::wrap(s.exp_avg_sq[static_cast<size_t>(index)].clone());
    });
}

int32_t clif_optim_set_state(clif_optim o, int64_t index, clif_tensor exp_avg, clif_tensor exp_avg_sq, int64_t step) {
    return clif::guard(__func__, [&] {
        auto &s = unwrap_optim(o);
        check_arg(index >= 0 && index < static_cast<int64_t>(s.params.size()), "optimizer state index out of range");
        check_arg(step >= 0, "step must be >= 0");
        auto i = static_cast<size_t>(index);
        const auto &a = clif::unwrap(exp_avg, "exp_avg");
        const auto &b = clif::unwrap(exp_avg_sq, "exp_avg_sq");
        check_arg(a.sizes() == s.params[i].sizes() && b.sizes() == s.params[i].sizes(),
                  "optimizer state for '" + s.names[i] + "' has shape " + c10::str(a.sizes()) + ", parameter has " +
                      c10::str(s.params[i].sizes()));
        at::NoGradGuard no_grad;
        s.exp_avg[i].copy_(a);
        s.exp_avg_sq[i].copy_(b);
        s.step = step;
    });
}

}
