package dev.clif.sampling;

import dev.clif.tensor.Tensor;

/**
 * diffusers' DPMSolverMultistepScheduler (v0.25.1) as DPM++ 2M: {@code algorithm_type: dpmsolver++},
 * {@code solver_order: 2}, the midpoint (default) or heun second-order update, {@code lower_order_final} (first order
 * at the last step, and a second-order step before it, when there are fewer than 15 steps), {@code euler_at_final},
 * and with {@code use_karras_sigmas} the Karras et al. (2022) sigmas ("DPM++ 2M Karras"). epsilon, v_prediction and
 * sample predictions; timesteps int64, spaced linspace (the default), leading or trailing; lambda_min_clipped.
 *
 * <p>The model output is converted to a data prediction x0 = (x - sigma_t·eps) / alpha_t (epsilon) or
 * alpha_t·x - sigma_t·v (v_prediction), with alpha_t = 1/sqrt(sigma^2 + 1) and sigma_t = sigma·alpha_t; then, with
 * lambda = log(alpha_t) - log(sigma_t) and h = lambda_t - lambda_s0:
 * x_t = (sigma_t/sigma_s0)·x - alpha_t(e^-h - 1)·D0 - ½·alpha_t(e^-h - 1)·D1, D0 = m0, D1 = (m0 - m1)·h/h0.
 * Scalars are computed in float, as diffusers' 0-dim float32 tensors hold them.
 *
 * <p>Refused when built: other algorithm types (dpmsolver, the SDE variants), solver_order other than 1 or 2,
 * thresholding, use_lu_lambdas and a learned variance_type.
 */
public final class DpmSolverMultistepScheduler extends BaseScheduler {
    private final float[] trainSigmas; // ((1 - a) / a) ** 0.5 in float, ascending in t
    private float[] sigmas;            // of the current schedule, with a trailing sigma (the last one again, or t=0's)
    private long[] schedule;
    private Integer stepIndex;
    private Tensor previousX0;         // model_outputs[-2]: the data prediction of the previous step
    private int lowerOrderNums;

    public DpmSolverMultistepScheduler(SchedulerConfig raw) {
        super(raw, "dpmpp-2m");
        String algorithm = config.algorithmType();
        if (!algorithm.equals("dpmsolver++") && !algorithm.equals("deis")) // diffusers turns "deis" into dpmsolver++
            throw config.error("algorithm_type", "'" + algorithm + "' is not supported (Clif has dpmsolver++)");
        if (config.solverOrder() != 1 && config.solverOrder() != 2)
            throw config.error("solver_order", config.solverOrder() + " is not supported (Clif has 1 and 2)");
        String solver = config.solverType();
        if (!solver.equals("midpoint") && !solver.equals("heun") && !solver.equals("logrho") && !solver.equals("bh1")
                && !solver.equals("bh2"))
            throw config.error("solver_type", "'" + solver + "' is not supported (use midpoint or heun)");
        if (config.thresholding())
            throw config.error("thresholding", "is true: dynamic thresholding is not supported by Clif's DPM-Solver");
        if (config.useLuLambdas()) throw config.error("use_lu_lambdas", "is true: not supported by Clif's DPM-Solver");
        if (config.varianceType() != null)
            throw config.error("variance_type", "'" + config.varianceType() + "' is not supported (leave it null)");
        if (config.rescaleBetasZeroSnr())
            throw config.error("rescale_betas_zero_snr", "is true: DPMSolverMultistepScheduler 0.25.1 has no such option");
        int n = alphasCumprod.length;
        trainSigmas = new float[n];
        for (int i = 0; i < n; i++) {
            float a = alphasCumprod[i];
            trainSigmas[i] = sqrt((1f - a) / a);
        }
    }

    @Override
    public String kind() {
        return config.useKarrasSigmas() ? "dpmpp-2m-karras" : "dpmpp-2m";
    }

    /** midpoint, or heun (diffusers maps logrho/bh1/bh2 to midpoint). */
    private boolean heun() {
        return config.solverType().equals("heun");
    }

    /** The sigmas of the current schedule (one more than the timesteps). */
    public float[] sigmas() {
        requireTimesteps();
        return sigmas.clone();
    }

    /** The index of the next step, or -1 before the first step. */
    public int stepIndex() {
        return stepIndex == null ? -1 : stepIndex;
    }

    /** searchsorted(flip(lambda_t), lambda_min_clipped): how many training timesteps the clipping removes. */
    private int clippedIndex() {
        double min = config.lambdaMinClipped();
        int n = alphasCumprod.length, count = 0;
        for (int i = n - 1; i >= 0; i--) { // flip: lambda ascending
            float a = alphasCumprod[i];
            float lambda = (float) Math.log(sqrt(a)) - (float) Math.log(sqrt(1f - a));
            if (lambda < min) count++;
            else break;
        }
        return count;
    }

    @Override
    public Timesteps setTimesteps(int n) {
        checkSteps(n);
        int T = config.numTrainTimesteps();
        int last = T - clippedIndex();
        long[] ts;
        switch (config.timestepSpacing()) {
            case "linspace" -> {
                double[] v = numpyLinspace(0, last - 1, n + 1);
                ts = new long[n];
                for (int i = 0; i < n; i++) ts[i] = (long) Math.rint(v[n - i]);
            }
            case "leading" -> {
                long ratio = last / (n + 1);
                ts = new long[n];
                for (int i = 0; i < n; i++) ts[i] = (n - i) * ratio + config.stepsOffset();
            }
            case "trailing" -> {
                double[] v = numpyArangeDown(last, (double) T / n);
                ts = new long[v.length];
                for (int i = 0; i < v.length; i++) ts[i] = (long) Math.rint(v[i]) - 1;
            }
            default -> throw config.error("timestep_spacing", "'" + config.timestepSpacing() + "' is not supported");
        }
        float[] newSigmas;
        if (config.useKarrasSigmas()) {
            float[] logSigmas = new float[T];
            for (int i = 0; i < T; i++) logSigmas[i] = (float) Math.log(trainSigmas[i]);
            double sigmaMin = trainSigmas[0], sigmaMax = trainSigmas[T - 1]; // in_sigmas = flip(sigmas)
            double rho = 7.0;
            double minInv = Math.pow(sigmaMin, 1 / rho), maxInv = Math.pow(sigmaMax, 1 / rho);
            double[] ramp = numpyLinspace(0, 1, n);
            newSigmas = new float[n + 1];
            ts = new long[n];
            for (int i = 0; i < n; i++) {
                double s = Math.pow(maxInv + ramp[i] * (minInv - maxInv), rho);
                ts[i] = (long) Math.rint(EulerDiscreteScheduler.sigmaToT(s, logSigmas));
                newSigmas[i] = (float) s;
            }
            newSigmas[n] = newSigmas[n - 1];
        } else {
            double[] x = new double[ts.length];
            for (int i = 0; i < ts.length; i++) x[i] = ts[i];
            double[] sig = EulerDiscreteScheduler.interp(x, trainSigmas);
            newSigmas = new float[sig.length + 1];
            for (int i = 0; i < sig.length; i++) newSigmas[i] = (float) sig[i];
            newSigmas[sig.length] = trainSigmas[0];
        }
        sigmas = newSigmas;
        schedule = ts;
        numInferenceSteps = ts.length;
        stepIndex = null;
        lowerOrderNums = 0;
        clearHistory();
        timesteps = Timesteps.ofLongs(ts);
        return timesteps;
    }

    private void clearHistory() {
        if (previousX0 != null) previousX0.close();
        previousX0 = null;
    }

    private void initStepIndex(double timestep) {
        int first = -1, second = -1;
        for (int i = 0; i < schedule.length; i++) {
            if (schedule[i] == timestep) {
                if (first < 0) first = i;
                else if (second < 0) second = i;
            }
        }
        stepIndex = first < 0 ? schedule.length - 1 : second >= 0 ? second : first;
    }

    /** alpha_t = 1 / sqrt(sigma^2 + 1), sigma_t = sigma * alpha_t, in float. */
    private static float alpha(float sigma) {
        return 1f / sqrt(sigma * sigma + 1f);
    }

    private static float lambda(float sigma) {
        float a = alpha(sigma);
        return (float) Math.log(a) - (float) Math.log(sigma * a);
    }

    /** convert_model_output for dpmsolver++: the data prediction x0. */
    private Tensor dataPrediction(Tensor modelOutput, Tensor sample) {
        float sigma = sigmas[stepIndex];
        float a = alpha(sigma), s = sigma * a;
        return switch (config.predictionType()) {
            case "epsilon" -> {
                try (Tensor num = Tensor.axpby(1.0, sample, -s, modelOutput)) {
                    yield num.scale(1.0 / a);
                }
            }
            case "sample" -> modelOutput.copy();
            case "v_prediction" -> Tensor.axpby(a, sample, -s, modelOutput);
            default -> throw config.error("prediction_type", "'" + config.predictionType() + "' is not supported");
        };
    }

    @Override
    public StepOutput stepOutput(Tensor modelOutput, double timestep, Tensor sample) {
        requireTimesteps();
        if (stepIndex == null) initStepIndex(timestep);
        if (stepIndex >= schedule.length)
            throw new IllegalStateException(kind() + " scheduler: all " + schedule.length + " steps already taken");
        int len = schedule.length;
        boolean lowerOrderFinal = stepIndex == len - 1 && (config.eulerAtFinal() || (config.lowerOrderFinal() && len < 15));
        Tensor x0 = dataPrediction(modelOutput, sample);
        Tensor prev;
        try {
            float sigT = sigmas[stepIndex + 1], sigS0 = sigmas[stepIndex];
            float alphaT = alpha(sigT), sigmaT = sigT * alphaT;
            float alphaS0 = alpha(sigS0), sigmaS0 = sigS0 * alphaS0;
            float lambdaT = (float) Math.log(alphaT) - (float) Math.log(sigmaT);
            float lambdaS0 = (float) Math.log(alphaS0) - (float) Math.log(sigmaS0);
            float h = lambdaT - lambdaS0;
            float expm = (float) Math.exp(-h) - 1f;
            float c0 = alphaT * expm;
            if (config.solverOrder() == 1 || lowerOrderNums < 1 || lowerOrderFinal || previousX0 == null) {
                prev = Tensor.axpby(sigmaT / sigmaS0, sample, -c0, x0); // first order (DDIM)
            } else {
                float lambdaS1 = lambda(sigmas[stepIndex - 1]);
                float h0 = lambdaS0 - lambdaS1;
                float r0 = h0 / h;
                try (Tensor diff = Tensor.axpby(1.0, x0, -1.0, previousX0); Tensor d1 = diff.scale(1f / r0);
                     Tensor first = Tensor.axpby(sigmaT / sigmaS0, sample, -c0, x0)) {
                    float c1 = heun() ? alphaT * (expm / h + 1f) : -0.5f * c0;
                    prev = Tensor.axpby(1.0, first, c1, d1);
                }
            }
        } catch (RuntimeException e) {
            x0.close();
            throw e;
        }
        clearHistory();
        previousX0 = x0.copy().detachFromScope();
        if (lowerOrderNums < config.solverOrder()) lowerOrderNums++;
        stepIndex++;
        return new StepOutput(prev, x0);
    }

    /** alpha_t·original + sigma_t·noise at the sigma of {@code timestep}'s place in the schedule. */
    @Override
    public Tensor addNoise(Tensor original, Tensor noise, double timestep) {
        requireTimesteps();
        int first = -1, second = -1;
        for (int i = 0; i < schedule.length; i++)
            if (schedule[i] == timestep) {
                if (first < 0) first = i;
                else if (second < 0) second = i;
            }
        int idx = first < 0 ? schedule.length - 1 : second >= 0 ? second : first;
        float a = alpha(sigmas[idx]);
        return Tensor.axpby(a, original, sigmas[idx] * a, noise);
    }

    @Override
    public void close() {
        clearHistory();
    }
}
