// clif_tensor_set_requires_grad / clif_tensor_grad / clif_autograd_backward, and gradient checkpointing
// (clif::checkpoint, used by the UNet's blocks). This is the one file that needs libtorch's autograd headers.
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include "common.h"
#include "unet_blocks.h"

namespace clif {

namespace {

// The recomputation closure, carried through the autograd context (saved_data holds IValues only).
struct Closure : torch::CustomClassHolder {
    std::function<at::Tensor(const std::vector<at::Tensor> &)> fn;
    AutocastState autocast;  // the precision the block ran in, for its recomputation
};

struct CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
    // inputs[0] is a dummy that requires grad, so the output is recorded even when no real input needs a
    // gradient (the parameters used inside fn may); it gets no gradient itself.
    static torch::autograd::variable_list forward(torch::autograd::AutogradContext *ctx,
                                                  c10::intrusive_ptr<Closure> closure, at::TensorList inputs) {
        std::vector<at::Tensor> real(inputs.begin() + 1, inputs.end());
        at::Tensor out = closure->fn(real);  // grad mode is off here
        ctx->saved_data["fn"] = c10::IValue::make_capsule(closure);
        ctx->save_for_backward(real);
        return {out};
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                   torch::autograd::variable_list grad_outputs) {
        auto holder = ctx->saved_data["fn"].toCapsule();
        auto *closure = static_cast<Closure *>(holder.get());
        std::vector<at::Tensor> saved = ctx->get_saved_variables();
        std::vector<at::Tensor> detached;
        detached.reserve(saved.size());
        for (size_t i = 0; i < saved.size(); i++) {
            at::Tensor d = saved[i].detach();
            d.set_requires_grad(ctx->needs_input_grad(i + 1) && at::isFloatingType(d.scalar_type()));
            detached.push_back(d);
        }
        at::Tensor out;
        {
            at::AutoGradMode enable(true);
            AutocastRestore precision(closure->autocast);
            out = closure->fn(detached);
        }
        at::Tensor g = grad_outputs[0].defined() ? grad_outputs[0] : at::zeros_like(out);
        if (out.requires_grad()) torch::autograd::backward({out}, {g});
        // One entry per forward argument: the closure (not a tensor), the dummy, then the real inputs.
        torch::autograd::variable_list result;
        result.reserve(detached.size() + 2);
        result.emplace_back();
        result.emplace_back();
        for (auto &d : detached) result.push_back(d.requires_grad() ? d.grad() : at::Tensor());
        return result;
    }
};

}  // namespace

at::Tensor checkpoint(std::function<at::Tensor(const std::vector<at::Tensor> &)> fn,
                      const std::vector<at::Tensor> &inputs) {
    auto closure = c10::make_intrusive<Closure>();
    closure->fn = std::move(fn);
    closure->autocast = AutocastState::current();
    torch::autograd::variable_list args;
    args.reserve(inputs.size() + 1);
    args.push_back(at::zeros({}, inputs.at(0).options().requires_grad(false)).requires_grad_(true));
    args.insert(args.end(), inputs.begin(), inputs.end());
    // An at::TensorList (not a std::vector) so that apply() sees the tensors as inputs of the graph node.
    return CheckpointFunction::apply(closure, at::TensorList(args))[0];
}

}  // namespace clif

using clif::check_arg;
using clif::not_null;

extern "C" {

int32_t clif_tensor_set_requires_grad(clif_tensor t, int32_t flag) {
    return clif::guard(__func__, [&] {
        at::Tensor &x = not_null(t, "tensor")->t;
        check_arg(!flag || at::isFloatingType(x.scalar_type()) || at::isComplexType(x.scalar_type()),
                  std::string("only floating-point tensors can require gradients, this one is ") +
                      c10::toString(x.scalar_type()));
        check_arg(x.is_leaf(), "requires_grad can only be set on a leaf tensor (one not computed by a recorded op)");
        x.set_requires_grad(flag != 0);
    });
}

int32_t clif_tensor_grad(clif_tensor t, clif_tensor *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        const at::Tensor &x = clif::unwrap(t);
        const at::Tensor &g = x.grad();
        check_arg(g.defined(), x.requires_grad()
                                   ? "tensor has no gradient yet (run a backward through something that uses it)"
                                   : "tensor has no gradient: it does not require grad (set_requires_grad first)");
        *out = clif::wrap(g);
    });
}

int32_t clif_autograd_backward(clif_tensor output, clif_tensor grad_output) {
    return clif::guard(__func__, [&] {
        const at::Tensor &y = clif::unwrap(output, "output");
        check_arg(y.requires_grad(), "output does not require grad: nothing upstream requires grad, or it was "
                                     "computed without recording (grad = 0)");
        if (grad_output == nullptr) {
            check_arg(y.numel() == 1, "grad_output may be NULL only for a scalar output; output has shape " +
                                          c10::str(y.sizes()));
            y.backward();
        } else {
            const at::Tensor &g = clif::unwrap(grad_output, "grad_output");
            check_arg(g.sizes() == y.sizes(), "grad_output has shape " + c10::str(g.sizes()) + " but output has " +
                                                  c10::str(y.sizes()));
            y.backward(g.to(y.device(), y.scalar_type()));
        }
    });
}

}
