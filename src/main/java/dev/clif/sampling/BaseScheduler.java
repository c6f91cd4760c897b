package dev.clif.sampling;

import dev.clif.ClifException;
import dev.clif.tensor.Tensor;

/** What every Clif scheduler shares: the config, the float32 noise schedule, DDPM-style noising. */
abstract class BaseScheduler implements Scheduler {
    protected final SchedulerConfig config;
    protected final float[] betas;
    protected final float[] alphasCumprod;
    protected Timesteps timesteps;
    protected int numInferenceSteps; // 0 until setTimesteps

    BaseScheduler(SchedulerConfig raw, String kind) {
        this.config = raw.withDefaultsFor(kind);
        this.betas = NoiseSchedule.betas(config);
        this.alphasCumprod = NoiseSchedule.alphasCumprod(betas);
    }

    @Override
    public SchedulerConfig config() {
        return config;
    }

    @Override
    public Timesteps timesteps() {
        requireTimesteps();
        return timesteps;
    }

    @Override
    public double alphaProd(int t) {
        if (t < 0 || t >= alphasCumprod.length)
            throw new IllegalArgumentException("timestep " + t + " outside [0, " + alphasCumprod.length + ")");
        return alphasCumprod[t];
    }

    @Override
    public float[] alphasCumprod() {
        return alphasCumprod.clone();
    }

    @Override
    public float[] betas() {
        return betas.clone();
    }

    /** sqrt(alphas_cumprod[t]) * original + sqrt(1 - alphas_cumprod[t]) * noise, the float32 way. */
    @Override
    public Tensor addNoise(Tensor original, Tensor noise, double timestep) {
        float a = alphasCumprod[index(timestep)];
        float sa = sqrt(a), sb = sqrt(1f - a);
        return Tensor.axpby(sa, original, sb, noise);
    }

    @Override
    public Tensor scaleModelInput(Tensor sample, double timestep) {
        return sample.copy();
    }

    @Override
    public double initNoiseSigma() {
        return 1.0;
    }

    protected void requireTimesteps() {
        if (timesteps == null)
            throw new IllegalStateException(kind() + " scheduler: call setTimesteps(n) before stepping");
    }

    protected void checkSteps(int n) {
        if (n < 1) throw new IllegalArgumentException("numInferenceSteps must be >= 1, got " + n);
        if (n > config.numTrainTimesteps())
            throw new ClifException("numInferenceSteps " + n + " cannot exceed num_train_timesteps "
                    + config.numTrainTimesteps() + " (" + config.source() + ")");
    }

    /** An integer timestep usable as an index into alphas_cumprod. */
    protected int index(double timestep) {
        if (timestep != Math.rint(timestep) || timestep < 0 || timestep >= alphasCumprod.length)
            throw new IllegalArgumentException(kind() + " scheduler: timestep " + timestep
                    + " is not an integer in [0, " + alphasCumprod.length + ")");
        return (int) timestep;
    }

    static float sqrt(float x) {
        return (float) Math.sqrt(x); // correctly rounded, as torch's float sqrt
    }

    /** Leading/trailing/linspace integer timesteps, ascending, as numpy computes them (before any reversal). */
    static long[] spacedAscending(SchedulerConfig c, int n) {
        int T = c.numTrainTimesteps();
        long[] t = new long[n];
        switch (c.timestepSpacing()) {
            case "linspace" -> {
                double[] v = numpyLinspace(0, T - 1, n);
                for (int i = 0; i < n; i++) t[i] = (long) Math.rint(v[i]);
            }
            case "leading" -> {
                long ratio = T / n;
                for (int i = 0; i < n; i++) t[i] = i * ratio + c.stepsOffset();
            }
            case "trailing" -> {
                double[] v = numpyArangeDown(T, (double) T / n);
                if (v.length != n) // numpy's arange length rounds up here: diffusers would get n + 1 steps, the last -1
                    throw c.error("timestep_spacing", "'trailing' with " + n + " inference steps: diffusers 0.25.1 would make "
                            + v.length + " timesteps ending in -1 (a float rounding of np.arange); choose another step count");
                for (int i = 0; i < n; i++) t[n - 1 - i] = (long) Math.rint(v[i]) - 1;
            }
            default -> throw c.error("timestep_spacing", "'" + c.timestepSpacing() + "' is not supported");
        }
        return t;
    }

    /** np.linspace(start, stop, num) in float64: i * step + start, the last value exactly stop. */
    static double[] numpyLinspace(double start, double stop, int num) {
        double[] y = new double[num];
        if (num == 0) return y;
        if (num == 1) {
            y[0] = start;
            return y;
        }
        double step = (stop - start) / (num - 1);
        for (int i = 0; i < num; i++) y[i] = i * step + start;
        y[num - 1] = stop;
        return y;
    }

    /** np.arange(start, 0, -step) for a float step: start + i * delta with delta = (start - step) - start. */
    static double[] numpyArangeDown(double start, double step) {
        int len = (int) Math.ceil((0 - start) / -step);
        double delta = (start + -step) - start;
        double[] v = new double[Math.max(len, 0)];
        for (int i = 0; i < v.length; i++) v[i] = start + i * delta;
        return v;
    }

    static long[] reverse(long[] a) {
        long[] out = new long[a.length];
        for (int i = 0; i < a.length; i++) out[i] = a[a.length - 1 - i];
        return out;
    }
}
