package dev.clif.sampling;

import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;

/**
 * diffusers' EulerAncestralDiscreteScheduler (v0.25.1), A1111's "Euler a": sigmas interpolated from the training
 * schedule at float32 timesteps (linspace, leading or trailing), and per step
 * sigma_up = sqrt(sigma_to^2 (sigma_from^2 - sigma_to^2) / sigma_from^2), sigma_down = sqrt(sigma_to^2 - sigma_up^2),
 * x_next = x + (x - x0_hat) / sigma * (sigma_down - sigma) + noise * sigma_up. epsilon and v_prediction
 * (diffusers 0.25.1 has no "sample" here either); rescale_betas_zero_snr.
 *
 * <p><b>The noise.</b> {@link #step(Tensor, double, Tensor, Tensor)} takes it explicitly. Otherwise row i of the
 * batch gets, at its k-th step, {@code randn(noiseSeed(seeds[i]) + k)} drawn on the CPU for that row alone
 * ({@link #setNoiseSeeds}), so an image's noise depends on its own seed only and batching does not change it.
 * This is not diffusers' stream: its pipeline draws the latents and then every step's noise from one
 * {@code torch.Generator}, so the same seed gives other images in diffusers than in Clif (each is a valid
 * Euler a sample; Clif's are reproducible byte for byte).
 */
public final class EulerAncestralDiscreteScheduler extends BaseScheduler {
    private final float[] trainSigmas;
    private float[] sigmas;   // of the current schedule, with a trailing 0
    private float[] schedule; // float32 timesteps
    private Integer stepIndex;
    private long[] noiseSeeds = {0};
    private int stepsTaken;

    public EulerAncestralDiscreteScheduler(SchedulerConfig raw) {
        super(raw, "euler-a");
        if (config.rescaleBetasZeroSnr()) alphasCumprod[alphasCumprod.length - 1] = 0x1p-24f;
        int n = alphasCumprod.length;
        trainSigmas = new float[n];
        for (int i = 0; i < n; i++) {
            float a = alphasCumprod[i];
            trainSigmas[i] = sqrt((1f - a) / a);
        }
        if (config.predictionType().equals("sample"))
            throw config.error("prediction_type", "'sample' is not implemented by EulerAncestralDiscreteScheduler");
    }

    @Override
    public String kind() {
        return "euler-a";
    }

    /**
     * The seeds the noise of each batch row comes from (one per image; a single seed for a batch of one). Reset
     * the step count: call before the first step of a run.
     */
    public EulerAncestralDiscreteScheduler setNoiseSeeds(long... seeds) {
        if (seeds.length == 0) throw new IllegalArgumentException("need at least one noise seed");
        this.noiseSeeds = seeds.clone();
        this.stepsTaken = 0;
        return this;
    }

    /** The seed of an image's noise stream: SplitMix64 of its seed, so it never runs into the image seeds seed+k. */
    public static long noiseSeed(long imageSeed) {
        long z = imageSeed + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return (z ^ (z >>> 31)) & Long.MAX_VALUE;
    }

    public float[] sigmas() {
        requireTimesteps();
        return sigmas.clone();
    }

    @Override
    public double initNoiseSigma() {
        requireTimesteps();
        float max = Float.NEGATIVE_INFINITY;
        for (float s : sigmas) max = Math.max(max, s);
        String spacing = config.timestepSpacing();
        if (spacing.equals("linspace") || spacing.equals("trailing")) return max;
        return sqrt(max * max + 1f);
    }

    @Override
    public Timesteps setTimesteps(int n) {
        checkSteps(n);
        int T = config.numTrainTimesteps();
        float[] ts = new float[n];
        switch (config.timestepSpacing()) {
            case "linspace" -> {
                double[] v = numpyLinspace(0, T - 1, n);
                for (int i = 0; i < n; i++) ts[i] = (float) v[n - 1 - i];
            }
            case "leading" -> {
                long ratio = T / n;
                for (int i = 0; i < n; i++) ts[i] = (float) ((n - 1 - i) * ratio) + config.stepsOffset();
            }
            case "trailing" -> {
                double[] v = numpyArangeDown(T, (double) T / n);
                ts = new float[v.length];
                for (int i = 0; i < v.length; i++) ts[i] = (float) Math.rint(v[i]) - 1f;
            }
            default -> throw config.error("timestep_spacing", "'" + config.timestepSpacing() + "' is not supported");
        }
        double[] x = new double[ts.length];
        for (int i = 0; i < ts.length; i++) x[i] = ts[i];
        double[] sig = EulerDiscreteScheduler.interp(x, trainSigmas);
        float[] s = new float[sig.length + 1];
        for (int i = 0; i < sig.length; i++) s[i] = (float) sig[i];
        sigmas = s;
        schedule = ts;
        numInferenceSteps = ts.length;
        stepIndex = null;
        stepsTaken = 0;
        timesteps = Timesteps.ofFloats(ts);
        return timesteps;
    }

    private float currentSigma(double timestep) {
        if (stepIndex == null) {
            float t = (float) timestep;
            int first = -1, second = -1;
            for (int i = 0; i < schedule.length; i++)
                if (schedule[i] == t) {
                    if (first < 0) first = i;
                    else if (second < 0) second = i;
                }
            if (first < 0)
                throw new IllegalArgumentException("euler-a scheduler: timestep " + timestep + " is not one of " + timesteps());
            stepIndex = second >= 0 ? second : first;
        }
        if (stepIndex >= sigmas.length - 1)
            throw new IllegalStateException("euler-a scheduler: all " + (sigmas.length - 1) + " steps already taken");
        return sigmas[stepIndex];
    }

    @Override
    public Tensor scaleModelInput(Tensor sample, double timestep) {
        requireTimesteps();
        float sigma = currentSigma(timestep);
        return sample.scale(1.0 / sqrt(sigma * sigma + 1f));
    }

    /** A step with this run's own noise (see the class comment). */
    @Override
    public StepOutput stepOutput(Tensor modelOutput, double timestep, Tensor sample) {
        long[] shape = sample.shape();
        int rows = (int) shape[0];
        if (noiseSeeds.length != rows && noiseSeeds.length != 1)
            throw new IllegalArgumentException(noiseSeeds.length + " noise seeds for a batch of " + rows);
        long[] row = shape.clone();
        row[0] = 1;
        Tensor[] parts = new Tensor[rows];
        try {
            for (int i = 0; i < rows; i++) {
                long seed = noiseSeeds.length == 1 ? noiseSeeds[0] + i : noiseSeeds[i];
                parts[i] = Tensor.randn(noiseSeed(seed) + stepsTaken, DType.F32, Device.CPU, row);
            }
            try (Tensor cpu = rows == 1 ? parts[0].copy() : Tensor.cat(0, parts);
                 Tensor noise = cpu.to(sample.device(), sample.dtype())) {
                return step(modelOutput, timestep, sample, noise);
            }
        } finally {
            for (Tensor p : parts) if (p != null) p.close();
        }
    }

    /** EulerAncestralDiscreteScheduler.step with the noise it would draw given: the previous sample and x0_hat. */
    public StepOutput step(Tensor modelOutput, double timestep, Tensor sample, Tensor noise) {
        requireTimesteps();
        float sigma = currentSigma(timestep);
        Tensor predX0 = switch (config.predictionType()) {
            case "epsilon" -> Tensor.axpby(1.0, sample, -sigma, modelOutput);
            case "v_prediction" -> {
                float s2p1 = sigma * sigma + 1f;
                yield Tensor.axpby(-sigma / sqrt(s2p1), modelOutput, 1.0 / s2p1, sample);
            }
            default -> throw config.error("prediction_type", "'" + config.predictionType() + "' is not supported");
        };
        try {
            float from = sigmas[stepIndex], to = sigmas[stepIndex + 1];
            float up = sqrt(to * to * (from * from - to * to) / (from * from));
            float down = sqrt(to * to - up * up);
            float dt = down - sigma;
            Tensor prev;
            try (Tensor diff = Tensor.axpby(1.0, sample, -1.0, predX0); Tensor derivative = diff.scale(1.0 / sigma);
                 Tensor ode = Tensor.axpby(1.0, sample, dt, derivative)) {
                prev = Tensor.axpby(1.0, ode, up, noise);
            }
            stepIndex++;
            stepsTaken++;
            return new StepOutput(prev, predX0);
        } catch (RuntimeException e) {
            predX0.close();
            throw e;
        }
    }

    /** original + sigma(timestep) * noise. */
    @Override
    public Tensor addNoise(Tensor original, Tensor noise, double timestep) {
        requireTimesteps();
        float t = (float) timestep;
        for (int i = 0; i < schedule.length; i++)
            if (schedule[i] == t) return Tensor.axpby(1.0, original, sigmas[i], noise);
        throw new IllegalArgumentException("euler-a scheduler: timestep " + timestep + " is not one of " + timesteps());
    }
}
