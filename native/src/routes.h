// Kernel routes: where two kernels compute the same op (dense: oneDNN 1x1 convolution or BLAS; attention: the
// fused kernel or matmul-softmax-matmul; 1x1 convolutions: oneDNN or a BLAS matrix product; other convolutions:
// oneDNN or im2col + BLAS), which one runs is
// decided per problem (op, shape, dtype, threads) by timing both on the first real inputs of that shape, or by an
// override. Which kernel wins depends on the machine (SIMD width, cache, BLAS build), so no size threshold holds
// everywhere; the decisions are dumped as text and reloaded per machine by dev.clif.tensor.KernelRoutes.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <initializer_list>

namespace clif::routes {

// Alphabetical, the order of a dump.
enum class Op { Attention, Conv, Conv1x1, Dense };

// A borrowed callable (no allocation per call, unlike std::function): the callable must outlive the Route, so a
// lambda passed in the same full expression as the routes::run call, or a named one.
class RouteFn {
  public:
    template <typename F>
    RouteFn(const F &f) : obj_(&f), call_([](const void *o) { return (*static_cast<const F *>(o))(); }) {}
    at::Tensor operator()() const { return call_(obj_); }

  private:
    const void *obj_;
    at::Tensor (*call_)(const void *);
};

// One candidate kernel for a call: its route name (one of the op's names, see routes.cpp) and a thunk that
// computes the op's output on the call's real inputs.
struct Route {
    const char *name;
    RouteFn run;
};

struct Choice {
    size_t index = 0;   // into the candidates
    at::Tensor output;  // the winner's output when calibration just computed it with autograd off, else undefined
};

// Picks among `candidates` (only the routes valid for this call: the caller filters out e.g. the fused kernel
// when autograd needs a backward). dims: the problem's sizes in the op's key order (routes.cpp names them:
// dense rows, in, out; attention B, heads, S, T, head_dim; conv n, in, out, h, w, kernel, stride; conv1x1 n, in,
// out, h, w).
// inputs: the call's tensors that autograd may differentiate (undefined ones are skipped). Where autograd is on
// and one of them requires grad, the call's backward will run too, so the key is marked `backward` and each
// route is timed forward plus backward (torch::autograd::grad into those inputs: nothing accumulates into a
// parameter's .grad); a kernel with a fast forward and a single-threaded backward then loses where it should.
Choice choose(Op op, std::initializer_list<int64_t> dims, at::ScalarType dtype, c10::ArrayRef<Route> candidates,
              std::initializer_list<at::Tensor> inputs = {});

// Runs the chosen route (or returns the output calibration already computed).
inline at::Tensor run(Op op, std::initializer_list<int64_t> dims, at::ScalarType dtype,
                      c10::ArrayRef<Route> candidates, std::initializer_list<at::Tensor> inputs = {}) {
    Choice c = choose(op, dims, dtype, candidates, inputs);
    return c.output.defined() ? c.output : candidates[c.index].run();
}

}  // namespace clif::routes
