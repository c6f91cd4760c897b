package dev.clif.purge;

/**
 * Dynamic loss scaling for fp16 training, as PyTorch's GradScaler does it: gradients handed to backward are
 * multiplied by {@link #scale()} so that small ones survive fp16's narrow range; before the optimizer step they
 * are divided by it again. A step whose unscaled gradients hold an inf or NaN is skipped and the scale halved;
 * after {@link #GROWTH_INTERVAL} good steps in a row it doubles. bf16 has float32's range and needs none of this.
 */
public final class LossScaler {
    public static final double INITIAL_SCALE = 65536.0;
    public static final int GROWTH_INTERVAL = 2000;
    private static final double MIN_SCALE = 1.0 / (1 << 24);

    private double scale;
    private int goodSteps;

    public LossScaler() {
        this(INITIAL_SCALE, 0);
    }

    /** A scaler in a given state (from a checkpoint). */
    public LossScaler(double scale, int goodSteps) {
        restore(scale, goodSteps);
    }

    public double scale() {
        return scale;
    }

    public int goodSteps() {
        return goodSteps;
    }

    /** Sets the state (resuming from a checkpoint). */
    public void restore(double scale, int goodSteps) {
        if (!(scale > 0) || Double.isInfinite(scale)) throw new IllegalArgumentException("loss scale must be a positive number, got " + scale);
        if (goodSteps < 0) throw new IllegalArgumentException("good steps must be >= 0");
        this.scale = scale;
        this.goodSteps = goodSteps;
    }

    /** Records the outcome of a step: {@code foundInf} halves the scale, otherwise a good step may double it. */
    public void update(boolean foundInf) {
        if (foundInf) {
            scale = Math.max(MIN_SCALE, scale / 2);
            goodSteps = 0;
        } else if (++goodSteps >= GROWTH_INTERVAL) {
            scale *= 2;
            goodSteps = 0;
        }
    }
}
