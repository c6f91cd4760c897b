package dev.clif.sampling;

import dev.clif.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' PNDMScheduler (v0.25.1). With {@code skip_prk_steps: true} (Stable Diffusion's config) it is PLMS:
 * linear multistep over up to four past model outputs, the second timestep repeated so the first two steps
 * form a Heun-like pair. Otherwise the first 12 steps are the Runge-Kutta (PRK) warm-up over the last three
 * schedule intervals. The past model outputs ({@code ets}) and the pending sample are kept in the instance as
 * copies it owns; {@link #close()} frees them.
 */
public final class PndmScheduler extends BaseScheduler {
    private static final int PNDM_ORDER = 4;

    private final float finalAlphaCumprod;
    private long[] prkTimesteps = new long[0];
    private long[] plmsTimesteps = new long[0];
    private final List<Tensor> ets = new ArrayList<>();
    private Tensor curSample;      // owned
    private Tensor curModelOutput; // owned; null stands for diffusers' 0
    private int counter;

    public PndmScheduler(SchedulerConfig raw) {
        super(raw, "pndm");
        if (!config.predictionType().equals("epsilon") && !config.predictionType().equals("v_prediction"))
            throw config.error("prediction_type", "'" + config.predictionType() + "' is not supported by PNDM (epsilon or v_prediction)");
        this.finalAlphaCumprod = config.setAlphaToOne() ? 1f : alphasCumprod[0];
    }

    @Override
    public String kind() {
        return "pndm";
    }

    /** Steps taken since setTimesteps. */
    public int counter() {
        return counter;
    }

    @Override
    public Timesteps setTimesteps(int n) {
        checkSteps(n);
        long[] asc = spacedAscending(config, n);
        if (config.skipPrkSteps()) {
            // _timesteps[:-1], _timesteps[-2:-1], _timesteps[-1:] concatenated, then reversed
            long[] plms = new long[n + 1];
            System.arraycopy(asc, 0, plms, 0, n - 1);
            if (n >= 2) plms[n - 1] = asc[n - 2];
            plms[n] = asc[n - 1];
            if (n < 2) plms = new long[] {asc[0]}; // numpy: [] + [] + [t0]
            prkTimesteps = new long[0];
            plmsTimesteps = reverse(plms);
        } else {
            if (n < PNDM_ORDER)
                throw config.error("skip_prk_steps", "is false: the PRK warm-up needs at least " + PNDM_ORDER
                        + " inference steps, got " + n);
            int half = config.numTrainTimesteps() / n / 2;
            long[] base = new long[2 * PNDM_ORDER];
            for (int i = 0; i < PNDM_ORDER; i++) {
                long t = asc[n - PNDM_ORDER + i];
                base[2 * i] = t;
                base[2 * i + 1] = t + half;
            }
            // prk[:-1].repeat(2)[1:-1], reversed
            int m = base.length - 1;
            long[] rep = new long[2 * m];
            for (int i = 0; i < m; i++) rep[2 * i] = rep[2 * i + 1] = base[i];
            long[] prk = new long[rep.length - 2];
            System.arraycopy(rep, 1, prk, 0, prk.length);
            prkTimesteps = reverse(prk);
            long[] plms = new long[n - 3];
            System.arraycopy(asc, 0, plms, 0, n - 3);
            plmsTimesteps = reverse(plms);
        }
        long[] all = new long[prkTimesteps.length + plmsTimesteps.length];
        System.arraycopy(prkTimesteps, 0, all, 0, prkTimesteps.length);
        System.arraycopy(plmsTimesteps, 0, all, prkTimesteps.length, plmsTimesteps.length);
        numInferenceSteps = n;
        timesteps = Timesteps.ofLongs(all);
        resetState();
        return timesteps;
    }

    @Override
    public StepOutput stepOutput(Tensor modelOutput, double timestep, Tensor sample) {
        requireTimesteps();
        Tensor prev = counter < prkTimesteps.length && !config.skipPrkSteps()
                ? stepPrk(modelOutput, index(timestep), sample)
                : stepPlms(modelOutput, index(timestep), sample);
        return new StepOutput(prev, null);
    }

    private Tensor stepPrk(Tensor modelOutput, int timestep, Tensor sample) {
        int ratio = config.numTrainTimesteps() / numInferenceSteps;
        int diffToPrev = counter % 2 != 0 ? 0 : ratio / 2;
        int prevTimestep = timestep - diffToPrev;
        int t = (int) prkTimesteps[counter / 4 * 4];
        Tensor eps = null; // the combined model output for this step, when it differs from modelOutput
        try {
            switch (counter % 4) {
                case 0 -> {
                    accumulate(1.0 / 6, modelOutput);
                    ets.add(own(modelOutput));
                    replaceCurSample(sample);
                }
                case 1, 2 -> accumulate(1.0 / 3, modelOutput);
                default -> {
                    eps = curModelOutput == null ? modelOutput.scale(1.0 / 6)
                            : Tensor.axpby(1.0, curModelOutput, 1.0 / 6, modelOutput);
                    if (curModelOutput != null) curModelOutput.close();
                    curModelOutput = null;
                }
            }
            Tensor cur = curSample != null ? curSample : sample;
            Tensor prev = prevSample(cur, t, prevTimestep, eps != null ? eps : modelOutput);
            counter++;
            return prev;
        } finally {
            if (eps != null) eps.close();
        }
    }

    /** cur_model_output += c * modelOutput (diffusers starts it at the int 0). */
    private void accumulate(double c, Tensor modelOutput) {
        Tensor next = curModelOutput == null ? modelOutput.scale(c) : Tensor.axpby(1.0, curModelOutput, c, modelOutput);
        if (curModelOutput != null) curModelOutput.close();
        curModelOutput = next.detachFromScope();
    }

    private Tensor stepPlms(Tensor modelOutput, int timestep, Tensor sample) {
        if (!config.skipPrkSteps() && ets.size() < 3)
            throw new IllegalStateException("PNDM: the PLMS steps can only run after the 12 PRK steps");
        int ratio = config.numTrainTimesteps() / numInferenceSteps;
        int prevTimestep = timestep - ratio;
        if (counter != 1) {
            while (ets.size() > 3) ets.remove(0).close();
            ets.add(own(modelOutput));
        } else {
            prevTimestep = timestep;
            timestep = timestep + ratio;
        }
        Tensor eps = null;
        Tensor x = sample;
        Tensor heldSample = null;
        try {
            int k = ets.size();
            if (k == 1 && counter == 0) {
                replaceCurSample(sample);
            } else if (k == 1 && counter == 1) {
                eps = Tensor.axpby(0.5, modelOutput, 0.5, ets.get(0)); // (model_output + ets[-1]) / 2
                heldSample = curSample;
                curSample = null;
                x = heldSample;
            } else if (k == 2) {
                eps = Tensor.axpby(1.5, ets.get(1), -0.5, ets.get(0)); // (3 ets[-1] - ets[-2]) / 2
            } else if (k == 3) {
                try (Tensor a = Tensor.axpby(23, ets.get(2), -16, ets.get(1));
                     Tensor b = Tensor.axpby(1, a, 5, ets.get(0))) {
                    eps = b.scale(1.0 / 12);
                }
            } else {
                try (Tensor a = Tensor.axpby(55, ets.get(3), -59, ets.get(2));
                     Tensor b = Tensor.axpby(1, a, 37, ets.get(1));
                     Tensor c = Tensor.axpby(1, b, -9, ets.get(0))) {
                    eps = c.scale(1.0 / 24);
                }
            }
            Tensor prev = prevSample(x, timestep, prevTimestep, eps != null ? eps : modelOutput);
            counter++;
            return prev;
        } finally {
            if (eps != null) eps.close();
            if (heldSample != null) heldSample.close();
        }
    }

    /** _get_prev_sample: formula (9) of the PNDM paper, coefficients in float as diffusers' float32 tensors. */
    private Tensor prevSample(Tensor sample, int timestep, int prevTimestep, Tensor modelOutput) {
        float aT = alphasCumprod[index(timestep)];
        float aPrev = prevTimestep >= 0 ? alphasCumprod[index(prevTimestep)] : finalAlphaCumprod;
        float bT = 1f - aT;
        float bPrev = 1f - aPrev;
        Tensor v = null;
        try {
            if (config.predictionType().equals("v_prediction")) {
                v = Tensor.axpby(sqrt(aT), modelOutput, sqrt(bT), sample);
                modelOutput = v;
            }
            float sampleCoeff = sqrt(aPrev / aT);
            float denom = aT * sqrt(bPrev) + sqrt(aT * bT * aPrev);
            float diff = aPrev - aT;
            return Tensor.axpby(sampleCoeff, sample, -((double) diff / denom), modelOutput);
        } finally {
            if (v != null) v.close();
        }
    }

    /** A copy this scheduler owns (outside any TensorScope). */
    private static Tensor own(Tensor t) {
        return t.copy().detachFromScope();
    }

    private void replaceCurSample(Tensor sample) {
        Tensor next = own(sample);
        if (curSample != null) curSample.close();
        curSample = next;
    }

    private void resetState() {
        for (Tensor t : ets) t.close();
        ets.clear();
        if (curModelOutput != null) curModelOutput.close();
        curModelOutput = null;
        if (curSample != null) curSample.close();
        curSample = null;
        counter = 0;
    }

    @Override
    public void close() {
        resetState();
    }
}
