package dev.clif.tensor;

import dev.clif.ffi.clif_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A mixed-precision region: while open, the forwards this thread runs do their matrix products and
 * convolutions in {@code fp16} (CUDA only) or {@code bf16} through libtorch's autocast, and keep norms,
 * softmax and reductions in float32. Float32 parameters stay float32 (master weights) and receive float32
 * gradients, so an optimizer over them updates in full precision.
 *
 * <pre>{@code
 * try (Autocast a = Autocast.open(device, DType.BF16)) {
 *     eps = unet.forward(x, t, context, true);
 * }
 * Autograd.backward(eps, grad); // outside the region, as PyTorch recommends
 * }</pre>
 *
 * <p>libtorch keeps autocast state per OS thread, so a region must be closed on the thread that opened it
 * (a virtual thread that may move between carriers must not hold one across blocking calls).
 */
public final class Autocast implements AutoCloseable {
    private final Thread owner = Thread.currentThread();
    private boolean closed;

    private Autocast() {}

    /** Opens a region; {@code dtype} must be F16 (CUDA) or BF16. */
    public static Autocast open(Device device, DType dtype) {
        NativeLibrary.load();
        NativeLibrary.check(clif_h.clif_autocast_begin(device.index(), dtype.code));
        return new Autocast();
    }

    /** A region for a reduced {@code dtype}, or {@code null} (nothing to close) for F32/F64. */
    public static Autocast openIfReduced(Device device, DType dtype) {
        return dtype == DType.F16 || dtype == DType.BF16 ? open(device, dtype) : null;
    }

    /** How many regions are open on this thread. */
    public static int depth() {
        NativeLibrary.load();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            NativeLibrary.check(clif_h.clif_autocast_depth(out));
            return out.get(ValueLayout.JAVA_INT, 0);
        }
    }

    @Override
    public void close() {
        if (closed) return;
        if (Thread.currentThread() != owner)
            throw new IllegalStateException("an autocast region must be closed on the thread that opened it (" + owner + ")");
        closed = true;
        NativeLibrary.check(clif_h.clif_autocast_end());
    }
}
