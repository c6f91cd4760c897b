package dev.clif.sampling;

import dev.clif.tensor.DType;
import dev.clif.tensor.Tensor;

/**
 * diffusers' DDIMScheduler (v0.25.1): the deterministic (eta = 0) or stochastic DDIM update of Song et al.
 * 2020, eq. (12). The default {@link #step} uses {@link #eta()} (0 unless {@link #setEta} changed it); noise for
 * eta &gt; 0 comes from a seeded {@link Tensor#randn}, or pass it to {@link #step(Tensor, double, Tensor, double, Tensor)}.
 *
 * <p>Not supported: {@code thresholding: true} (refused when built) and {@code use_clipped_model_output}.
 */
public final class DdimScheduler extends BaseScheduler {
    private final float finalAlphaCumprod;
    private double eta;
    private long noiseSeed;
    private long noiseDraws;

    public DdimScheduler(SchedulerConfig raw) {
        super(raw, "ddim");
        if (config.thresholding())
            throw config.error("thresholding", "is true: dynamic thresholding is not supported by Clif's DDIM "
                    + "(set it to false)");
        this.finalAlphaCumprod = config.setAlphaToOne() ? 1f : alphasCumprod[0];
    }

    @Override
    public String kind() {
        return "ddim";
    }

    /** alphas_cumprod used when the previous timestep is below 0 (1, or alphas_cumprod[0]). */
    public double finalAlphaCumprod() {
        return finalAlphaCumprod;
    }

    public double eta() {
        return eta;
    }

    /** The eta of later {@link #step} calls; for eta &gt; 0 their noise is randn(seed + k) at the k-th draw. */
    public DdimScheduler setEta(double eta, long seed) {
        if (!(eta >= 0) || Double.isInfinite(eta)) throw new IllegalArgumentException("eta must be >= 0, got " + eta);
        this.eta = eta;
        this.noiseSeed = seed;
        this.noiseDraws = 0;
        return this;
    }

    @Override
    public Timesteps setTimesteps(int n) {
        checkSteps(n);
        numInferenceSteps = n;
        timesteps = Timesteps.ofLongs(reverse(spacedAscending(config, n)));
        return timesteps;
    }

    @Override
    public StepOutput stepOutput(Tensor modelOutput, double timestep, Tensor sample) {
        if (eta > 0) {
            try (Tensor noise = Tensor.randn(noiseSeed + noiseDraws++, DType.F32, sample.device(), sample.shape())) {
                return step(modelOutput, timestep, sample, eta, noise);
            }
        }
        return step(modelOutput, timestep, sample, eta, null);
    }

    /**
     * DDIMScheduler.step(model_output, timestep, sample, eta, variance_noise=varianceNoise). {@code varianceNoise}
     * is only read when eta &gt; 0, and is then required.
     */
    public StepOutput step(Tensor modelOutput, double timestep, Tensor sample, double eta, Tensor varianceNoise) {
        requireTimesteps();
        if (!(eta >= 0)) throw new IllegalArgumentException("eta must be >= 0, got " + eta);
        if (eta > 0 && varianceNoise == null) throw new IllegalArgumentException("eta > 0 needs variance noise");
        int t = index(timestep);
        int prevT = t - config.numTrainTimesteps() / numInferenceSteps;

        float aT = alphasCumprod[t];
        float aPrev = prevT >= 0 ? alphasCumprod[prevT] : finalAlphaCumprod;
        float bT = 1f - aT;
        float sqrtA = sqrt(aT), sqrtB = sqrt(bT);

        Tensor predX0, predEps;
        switch (config.predictionType()) {
            case "epsilon" -> {
                try (Tensor num = Tensor.axpby(1.0, sample, -sqrtB, modelOutput)) {
                    predX0 = num.scale(1.0 / sqrtA);
                }
                predEps = modelOutput;
            }
            case "sample" -> {
                predX0 = modelOutput.copy();
                try (Tensor num = Tensor.axpby(1.0, sample, -sqrtA, predX0)) {
                    predEps = num.scale(1.0 / sqrtB);
                }
            }
            case "v_prediction" -> {
                predX0 = Tensor.axpby(sqrtA, sample, -sqrtB, modelOutput);
                predEps = Tensor.axpby(sqrtA, modelOutput, sqrtB, sample);
            }
            default -> throw config.error("prediction_type", "'" + config.predictionType() + "' is not supported");
        }
        try {
            if (config.clipSample()) {
                Tensor clipped = Clamp.clamp(predX0, -config.clipSampleRange(), config.clipSampleRange());
                predX0.close();
                predX0 = clipped;
            }
            float bPrev = 1f - aPrev;
            float variance = (bPrev / bT) * (1f - aT / aPrev);
            float std = (float) eta * sqrt(variance);
            float dirCoef = sqrt(1f - aPrev - std * std);
            Tensor prev = Tensor.axpby(sqrt(aPrev), predX0, dirCoef, predEps);
            if (eta > 0) {
                Tensor noisy = Tensor.axpby(1.0, prev, std, varianceNoise);
                prev.close();
                prev = noisy;
            }
            return new StepOutput(prev, predX0);
        } catch (RuntimeException e) {
            predX0.close();
            throw e;
        } finally {
            if (predEps != modelOutput) predEps.close();
        }
    }
}
