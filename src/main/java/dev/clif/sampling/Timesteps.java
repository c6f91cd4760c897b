package dev.clif.sampling;

import dev.clif.tensor.Tensor;

import java.util.Arrays;

/**
 * The timesteps a scheduler visits, first (noisiest) to last. DDIM and PNDM use integer timesteps (int64 in
 * diffusers); Euler fractional ones (float32). Values are held as doubles, which represent both exactly.
 */
public final class Timesteps {
    private final double[] values;
    private final boolean integral;

    private Timesteps(double[] values, boolean integral) {
        this.values = values;
        this.integral = integral;
    }

    public static Timesteps ofLongs(long[] t) {
        double[] v = new double[t.length];
        for (int i = 0; i < t.length; i++) v[i] = t[i];
        return new Timesteps(v, true);
    }

    public static Timesteps ofFloats(float[] t) {
        double[] v = new double[t.length];
        for (int i = 0; i < t.length; i++) v[i] = t[i];
        return new Timesteps(v, false);
    }

    public int size() {
        return values.length;
    }

    public double get(int i) {
        return values[i];
    }

    /** True for int64 schedules (DDIM, PNDM), false for float32 ones (Euler). */
    public boolean integral() {
        return integral;
    }

    public double[] values() {
        return values.clone();
    }

    /** The timesteps as int64 values; only for integral schedules. */
    public long[] longs() {
        if (!integral) throw new IllegalStateException("these timesteps are fractional (float32); use floats()");
        long[] out = new long[values.length];
        for (int i = 0; i < out.length; i++) out[i] = (long) values[i];
        return out;
    }

    public float[] floats() {
        float[] out = new float[values.length];
        for (int i = 0; i < out.length; i++) out[i] = (float) values[i];
        return out;
    }

    /** Timestep {@code i} as the 0-dim CPU tensor a UNet takes: int64 for integral schedules, else float32. */
    public Tensor tensor(int i) {
        return integral ? Tensor.of(new long[] {(long) values[i]}) : Tensor.of(new float[] {(float) values[i]});
    }

    @Override
    public String toString() {
        return integral ? Arrays.toString(longs()) : Arrays.toString(floats());
    }
}
