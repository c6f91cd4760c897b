package dev.clif.sampling;

import dev.clif.tensor.Tensor;

/**
 * diffusers' EulerDiscreteScheduler (v0.25.1), deterministic ({@code s_churn = 0}): sigmas interpolated from
 * the training schedule at fractional timesteps, x_{i+1} = x_i + (x_i - x0_hat) / sigma_i * (sigma_{i+1} - sigma_i).
 * The step index is found from the first timestep seen (as diffusers does) and then advances by one per step.
 * Supports interpolation_type linear/log_linear, use_karras_sigmas, timestep_type continuous (v_prediction).
 */
public final class EulerDiscreteScheduler extends BaseScheduler {
    private final float[] trainSigmas; // ((1 - a) / a) ** 0.5 in float, ascending in t
    private float[] sigmas;            // of the current schedule, with a trailing 0
    private float[] schedule;          // the float32 timesteps matched by _init_step_index
    private Integer stepIndex;

    public EulerDiscreteScheduler(SchedulerConfig raw) {
        super(raw, "euler");
        if (config.rescaleBetasZeroSnr()) alphasCumprod[alphasCumprod.length - 1] = 0x1p-24f;
        int n = alphasCumprod.length;
        trainSigmas = new float[n];
        for (int i = 0; i < n; i++) {
            float a = alphasCumprod[i];
            trainSigmas[i] = sqrt((1f - a) / a);
        }
        // before setTimesteps: every training timestep, descending, sigmas reversed plus 0
        sigmas = new float[n + 1];
        schedule = new float[n];
        boolean continuous = continuousTimesteps();
        for (int i = 0; i < n; i++) {
            sigmas[i] = trainSigmas[n - 1 - i];
            schedule[i] = continuous ? (float) (0.25 * Math.log(sigmas[i])) : (float) (n - 1 - i);
        }
    }

    @Override
    public String kind() {
        return "euler";
    }

    private boolean continuousTimesteps() {
        return config.timestepType().equals("continuous") && config.predictionType().equals("v_prediction");
    }

    /** The sigmas of the current schedule (one more than the timesteps: a trailing 0). */
    public float[] sigmas() {
        return sigmas.clone();
    }

    /** The index of the next step, or -1 before the first scaleModelInput/step. */
    public int stepIndex() {
        return stepIndex == null ? -1 : stepIndex;
    }

    @Override
    public double initNoiseSigma() {
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
        double[] ts = new double[n]; // float32 values, descending
        switch (config.timestepSpacing()) {
            case "linspace" -> {
                double[] v = numpyLinspace(0, T - 1, n);
                for (int i = 0; i < n; i++) ts[i] = (float) v[n - 1 - i];
            }
            case "leading", "trailing" -> {
                long[] asc = spacedAscending(config, n);
                for (int i = 0; i < n; i++) ts[i] = (float) asc[n - 1 - i];
            }
            default -> throw config.error("timestep_spacing", "'" + config.timestepSpacing() + "' is not supported");
        }

        double[] sig; // float64, as numpy holds it
        switch (config.interpolationType()) {
            case "linear" -> sig = interp(ts, trainSigmas);
            case "log_linear" -> {
                float[] l = NoiseSchedule.torchLinspace(Math.log(trainSigmas[T - 1]), Math.log(trainSigmas[0]), n + 1);
                sig = new double[l.length];
                for (int i = 0; i < l.length; i++) sig[i] = (float) Math.exp(l[i]);
            }
            default -> throw config.error("interpolation_type", "'" + config.interpolationType() + "' is not supported");
        }
        if (config.useKarrasSigmas()) {
            sig = karras(sig, n);
            float[] logSigmas = new float[T];
            for (int i = 0; i < T; i++) logSigmas[i] = (float) Math.log(trainSigmas[i]);
            ts = new double[sig.length];
            for (int i = 0; i < sig.length; i++) ts[i] = (float) sigmaToT(sig[i], logSigmas);
        }
        float[] newSigmas = new float[sig.length + 1];
        for (int i = 0; i < sig.length; i++) newSigmas[i] = (float) sig[i];
        float[] sched;
        if (continuousTimesteps()) {
            sched = new float[sig.length];
            for (int i = 0; i < sig.length; i++) sched[i] = (float) (0.25 * Math.log(newSigmas[i]));
        } else {
            sched = new float[ts.length];
            for (int i = 0; i < ts.length; i++) sched[i] = (float) ts[i];
        }
        sigmas = newSigmas;
        schedule = sched;
        numInferenceSteps = n;
        stepIndex = null;
        timesteps = Timesteps.ofFloats(sched);
        return timesteps;
    }

    /** np.interp(x, arange(len(fp)), fp) in float64. */
    static double[] interp(double[] x, float[] fp) {
        int n = fp.length;
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double xv = x[i];
            if (Double.isNaN(xv)) out[i] = xv;
            else if (xv >= n - 1) out[i] = fp[n - 1];
            else if (xv < 0) out[i] = fp[0];
            else {
                int j = (int) Math.floor(xv);
                if (xv == j) out[i] = fp[j];
                else {
                    double slope = ((double) fp[j + 1] - fp[j]) / 1.0;
                    out[i] = slope * (xv - j) + fp[j];
                }
            }
        }
        return out;
    }

    /** _convert_to_karras (rho = 7) over the interpolated sigmas. */
    private double[] karras(double[] in, int n) {
        double sigmaMin = config.sigmaMin() != null ? config.sigmaMin() : in[in.length - 1];
        double sigmaMax = config.sigmaMax() != null ? config.sigmaMax() : in[0];
        double rho = 7.0;
        double minInv = Math.pow(sigmaMin, 1 / rho), maxInv = Math.pow(sigmaMax, 1 / rho);
        double[] ramp = numpyLinspace(0, 1, n);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) out[i] = Math.pow(maxInv + ramp[i] * (minInv - maxInv), rho);
        return out;
    }

    /** _sigma_to_t: piecewise-linear inverse of log sigma over the training timesteps. */
    static double sigmaToT(double sigma, float[] logSigmas) {
        double logSigma = Math.log(Math.max(sigma, 1e-10));
        int count = 0; // cumsum(dists >= 0).argmax(): the last index where log_sigma >= log_sigmas[i] (sorted ascending)
        int lowIdx = 0;
        for (int i = 0; i < logSigmas.length; i++) {
            if ((float) logSigma - logSigmas[i] >= 0) { // numpy 1.x: float64 scalar - float32 array is float32
                count++;
                lowIdx = i;
            }
        }
        if (count == 0) lowIdx = 0;
        lowIdx = Math.min(lowIdx, logSigmas.length - 2);
        int highIdx = lowIdx + 1;
        double low = logSigmas[lowIdx], high = logSigmas[highIdx];
        double w = (low - logSigma) / (low - high);
        w = Math.max(0, Math.min(1, w));
        return (1 - w) * lowIdx + w * highIdx;
    }

    private int initStepIndex(double timestep) {
        float t = (float) timestep;
        int first = -1, second = -1;
        for (int i = 0; i < schedule.length; i++) {
            if (schedule[i] == t) {
                if (first < 0) first = i;
                else if (second < 0) second = i;
            }
        }
        if (first < 0)
            throw new IllegalArgumentException("euler scheduler: timestep " + timestep + " is not one of " + timesteps());
        return second >= 0 ? second : first; // diffusers takes the second match when there are several
    }

    private float currentSigma(double timestep) {
        if (stepIndex == null) stepIndex = initStepIndex(timestep);
        if (stepIndex >= sigmas.length - 1)
            throw new IllegalStateException("euler scheduler: all " + (sigmas.length - 1) + " steps already taken");
        return sigmas[stepIndex];
    }

    @Override
    public Tensor scaleModelInput(Tensor sample, double timestep) {
        requireTimesteps();
        float sigma = currentSigma(timestep);
        float denom = sqrt(sigma * sigma + 1f);
        return sample.scale(1.0 / denom);
    }

    @Override
    public StepOutput stepOutput(Tensor modelOutput, double timestep, Tensor sample) {
        requireTimesteps();
        float sigma = currentSigma(timestep);
        float sigmaHat = sigma; // gamma = 0 (s_churn = 0)
        Tensor predX0 = switch (config.predictionType()) {
            case "epsilon" -> Tensor.axpby(1.0, sample, -sigmaHat, modelOutput);
            case "sample" -> modelOutput.copy();
            case "v_prediction" -> {
                float s2p1 = sigma * sigma + 1f;
                yield Tensor.axpby(-sigma / sqrt(s2p1), modelOutput, 1.0 / s2p1, sample);
            }
            default -> throw config.error("prediction_type", "'" + config.predictionType() + "' is not supported");
        };
        try (Tensor diff = Tensor.axpby(1.0, sample, -1.0, predX0); Tensor derivative = diff.scale(1.0 / sigmaHat)) {
            float dt = sigmas[stepIndex + 1] - sigmaHat;
            Tensor prev = Tensor.axpby(1.0, sample, dt, derivative);
            stepIndex++;
            return new StepOutput(prev, predX0);
        } catch (RuntimeException e) {
            predX0.close();
            throw e;
        }
    }

    /** original + sigma(timestep) * noise, sigma looked up by the timestep's position in the schedule. */
    @Override
    public Tensor addNoise(Tensor original, Tensor noise, double timestep) {
        requireTimesteps();
        float t = (float) timestep;
        for (int i = 0; i < schedule.length; i++)
            if (schedule[i] == t) return Tensor.axpby(1.0, original, sigmas[i], noise);
        throw new IllegalArgumentException("euler scheduler: timestep " + timestep + " is not one of " + timesteps());
    }
}
