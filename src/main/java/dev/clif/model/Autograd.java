package dev.clif.model;

import dev.clif.ffi.clif_h;
import dev.clif.tensor.NativeLibrary;
import dev.clif.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * libtorch autograd from Java: mark inputs as requiring gradients, back-propagate from an output seeded with
 * a gradient Java computed (e.g. {@code loss = (sample * W).sum()} is a backward from {@code sample} with
 * grad_output {@code W}), read the accumulated gradients. Model parameters are marked through
 * {@link NativeModule#setRequiresGrad} and read through {@link NativeModule#gradient}.
 */
public final class Autograd {
    private Autograd() {}

    /** Marks a leaf floating-point tensor (an input, not a computed result) as requiring a gradient. */
    public static void setRequiresGrad(Tensor t, boolean requiresGrad) {
        NativeLibrary.check(clif_h.clif_tensor_set_requires_grad(t.handle(), requiresGrad ? 1 : 0));
    }

    /** The gradient accumulated into {@code t} (fails with a message when it has none). */
    public static Tensor grad(Tensor t) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_tensor_grad(t.handle(), out));
            return Tensor.adopt(out);
        }
    }

    /** Back-propagates from {@code output} seeded with {@code gradOutput} (same shape). */
    public static void backward(Tensor output, Tensor gradOutput) {
        NativeLibrary.check(clif_h.clif_autograd_backward(output.handle(),
                gradOutput == null ? MemorySegment.NULL : gradOutput.handle()));
    }

    /** Back-propagates from a one-element output (seed 1). */
    public static void backward(Tensor scalarOutput) {
        backward(scalarOutput, null);
    }
}
