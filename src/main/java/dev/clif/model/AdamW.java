package dev.clif.model;

import dev.clif.ClifException;
import dev.clif.ffi.clif_h;
import dev.clif.tensor.NativeLibrary;
import dev.clif.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * AdamW over named parameters of a {@link NativeModule}, run natively (PyTorch's update, decoupled weight
 * decay, bias correction). Close it before the module it updates.
 */
public final class AdamW implements AutoCloseable {
    /** Hyper-parameters; defaults as torch.optim.AdamW's except weight decay (diffusers fine-tuning uses 1e-2). */
    public record Config(double lr, double beta1, double beta2, double eps, double weightDecay) {
        public Config {
            if (!(lr >= 0) || !Double.isFinite(lr)) throw new IllegalArgumentException("lr must be a finite number >= 0, got " + lr);
            if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("betas must lie in [0, 1)");
            if (!(eps > 0)) throw new IllegalArgumentException("eps must be positive");
            if (!(weightDecay >= 0)) throw new IllegalArgumentException("weight decay must be >= 0");
        }

        public static Config of(double lr) {
            return new Config(lr, 0.9, 0.999, 1e-8, 1e-2);
        }
    }

    /** The moment estimates of one parameter and the shared step count (for checkpoints). */
    public record State(Tensor expAvg, Tensor expAvgSq, long step) {}

    private MemorySegment handle;
    private final List<String> names;
    private final Config config;

    public AdamW(NativeModule module, List<String> parameterNames, Config config) {
        if (parameterNames.isEmpty()) throw new ClifException("nothing to optimise: no parameter was selected");
        this.names = List.copyOf(parameterNames);
        this.config = config;
        NativeLibrary.load();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ptrs = arena.allocate(ValueLayout.ADDRESS, names.size());
            MemorySegment lens = arena.allocate(ValueLayout.JAVA_LONG, names.size());
            for (int i = 0; i < names.size(); i++) {
                byte[] utf8 = names.get(i).getBytes(StandardCharsets.UTF_8);
                MemorySegment s = arena.allocate(Math.max(1, utf8.length));
                s.copyFrom(MemorySegment.ofArray(utf8));
                ptrs.setAtIndex(ValueLayout.ADDRESS, i, s);
                lens.setAtIndex(ValueLayout.JAVA_LONG, i, utf8.length);
            }
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_optim_adamw_new(module.handle(), ptrs, lens, names.size(), config.lr(),
                    config.beta1(), config.beta2(), config.eps(), config.weightDecay(), out));
            handle = out.get(ValueLayout.ADDRESS, 0);
        }
    }

    public List<String> parameterNames() {
        return names;
    }

    public Config config() {
        return config;
    }

    private MemorySegment handle() {
        if (handle == null) throw new IllegalStateException("optimizer is closed");
        return handle;
    }

    /**
     * Applies one update from the accumulated gradients, clipping their global norm to {@code maxGradNorm}
     * first when it is positive. Returns the norm before clipping. A non-finite norm throws and changes nothing.
     */
    public double step(double maxGradNorm) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment norm = arena.allocate(ValueLayout.JAVA_DOUBLE);
            NativeLibrary.check(clif_h.clif_optim_step(handle(), maxGradNorm, norm));
            return norm.get(ValueLayout.JAVA_DOUBLE, 0);
        }
    }

    /**
     * Divides every gradient by {@code scale} in place (undoing a loss scale, see
     * {@link dev.clif.purge.LossScaler}) and says whether any of them holds an inf or NaN afterwards.
     */
    public boolean unscaleGradients(double scale) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment found = arena.allocate(ValueLayout.JAVA_INT);
            NativeLibrary.check(clif_h.clif_optim_unscale_grads(handle(), 1.0 / scale, found));
            return found.get(ValueLayout.JAVA_INT, 0) != 0;
        }
    }

    public void zeroGrad() {
        NativeLibrary.check(clif_h.clif_optim_zero_grad(handle()));
    }

    public void setLearningRate(double lr) {
        NativeLibrary.check(clif_h.clif_optim_set_lr(handle(), lr));
    }

    /** Copies of the state of parameter {@code index} (in {@link #parameterNames()} order). */
    public State state(int index) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment b = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment step = arena.allocate(ValueLayout.JAVA_LONG);
            NativeLibrary.check(clif_h.clif_optim_get_state(handle(), index, a, b, step));
            return new State(Tensor.adopt(a), Tensor.adopt(b), step.get(ValueLayout.JAVA_LONG, 0));
        }
    }

    public void restore(int index, Tensor expAvg, Tensor expAvgSq, long step) {
        NativeLibrary.check(clif_h.clif_optim_set_state(handle(), index, expAvg.handle(), expAvgSq.handle(), step));
    }

    @Override
    public void close() {
        if (handle != null) {
            clif_h.clif_optim_free(handle);
            handle = null;
        }
    }
}
