package dev.clif.golden;

import dev.clif.sampling.DdimScheduler;
import dev.clif.sampling.EulerDiscreteScheduler;
import dev.clif.sampling.PndmScheduler;
import dev.clif.sampling.Scheduler;
import dev.clif.sampling.SchedulerConfig;
import dev.clif.sampling.StepOutput;
import dev.clif.sampling.Timesteps;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import java.util.ArrayList;
import java.util.List;

/**
 * The "schedulers" case: DDIM built from the case's model folder (tiny-sd/scheduler), PNDM (PLMS) and Euler from
 * the sidecar's {@code sd15_scheduler_config}. Timestep arrays must match exactly; schedule arrays and every
 * step output within {@code suggested_tolerance.arrays_and_steps}.
 */
public final class SchedulerCases implements CaseRunner {
    /** Indices into the 50-step DDIM schedule of the single steps the case stores (see the sidecar docs). */
    private static final int[] DDIM_STEP_INDEX = {0, 25, 49};
    private static final int DDIM_ETA1_INDEX = 10;
    private static final int STEPS = 50;

    @Override
    public List<String> cases() {
        return List.of("schedulers");
    }

    @Override
    public List<Comparison> run(GoldenCase c, Device device) {
        Tolerance exact = c.tolerance("timesteps");
        Tolerance tol = c.tolerance("arrays_and_steps");
        List<Comparison> out = new ArrayList<>();
        try (TensorScope scope = TensorScope.open()) {
            Tensor sample = input(c, "sample", device);

            // ---- DDIM (tiny-sd/scheduler) ----
            try (Scheduler s = Scheduler.fromFolder(c.model())) {
                if (!(s instanceof DdimScheduler ddim))
                    throw new IllegalStateException(c.model() + " should hold a DDIMScheduler config, got " + s.kind());
                out.add(Comparison.of("betas", s.betas(), c.tensors().floats("betas"), tol));
                out.add(Comparison.of("alphas_cumprod", s.alphasCumprod(), c.tensors().floats("alphas_cumprod"), tol));
                Timesteps ts = s.setTimesteps(STEPS);
                out.add(Comparison.exact("ddim.timesteps", ts.longs(), c.tensors().longs("ddim.timesteps")));
                out.add(Comparison.of("ddim.final_alpha_cumprod", new double[] {ddim.finalAlphaCumprod()},
                        doubles(c.tensors().floats("ddim.final_alpha_cumprod")), tol));
                for (int k = 0; c.tensors().contains("ddim.step" + k + ".model_output"); k++) {
                    String p = "ddim.step" + k + ".";
                    long t = c.tensors().longs(p + "timestep")[0];
                    if (k < DDIM_STEP_INDEX.length)
                        out.add(Comparison.exact(p + "timestep", new long[] {ts.longs()[DDIM_STEP_INDEX[k]]}, new long[] {t}));
                    StepOutput o = ddim.step(input(c, p + "model_output", device), t, sample, 0.0, null);
                    out.add(Comparison.of(p + "prev_sample", o.prevSample(), c.tensor(p + "prev_sample"), tol));
                    out.add(Comparison.of(p + "pred_original_sample", o.predOriginalSample(), c.tensor(p + "pred_original_sample"), tol));
                }
                if (c.tensors().contains("ddim.eta1.model_output")) {
                    String p = "ddim.eta1.";
                    long t = c.tensors().longs(p + "timestep")[0];
                    out.add(Comparison.exact(p + "timestep", new long[] {ts.longs()[DDIM_ETA1_INDEX]}, new long[] {t}));
                    StepOutput o = ddim.step(input(c, p + "model_output", device), t, sample, 1.0,
                            input(c, p + "variance_noise", device));
                    out.add(Comparison.of(p + "prev_sample", o.prevSample(), c.tensor(p + "prev_sample"), tol));
                    out.add(Comparison.of(p + "pred_original_sample", o.predOriginalSample(), c.tensor(p + "pred_original_sample"), tol));
                }
            }

            SchedulerConfig sd15 = SchedulerConfig.fromJson(c.sidecar().get("sd15_scheduler_config"),
                    c.sidecarPath() + "#sd15_scheduler_config");

            // ---- PNDM / PLMS: sequential steps from `sample` ----
            try (Scheduler s = Scheduler.create(sd15, "pndm")) {
                if (!(s instanceof PndmScheduler)) throw new IllegalStateException("expected PNDM");
                Timesteps ts = s.setTimesteps(STEPS);
                out.add(Comparison.exact("pndm.timesteps", ts.longs(), c.tensors().longs("pndm.timesteps")));
                Tensor x = sample;
                for (int k = 0; c.tensors().contains("pndm.step" + k + ".model_output"); k++) {
                    String p = "pndm.step" + k + ".";
                    x = s.step(input(c, p + "model_output", device), ts.get(k), x);
                    out.add(Comparison.of(p + "prev_sample", x, c.tensor(p + "prev_sample"), tol));
                }
            }

            // ---- Euler: x0 = sample * init_noise_sigma, then sequential steps ----
            try (Scheduler s = Scheduler.create(sd15, "euler")) {
                EulerDiscreteScheduler euler = (EulerDiscreteScheduler) s;
                Timesteps ts = s.setTimesteps(STEPS);
                out.add(Comparison.of("euler.timesteps", ts.floats(), c.tensors().floats("euler.timesteps"), exact));
                out.add(Comparison.of("euler.sigmas", euler.sigmas(), c.tensors().floats("euler.sigmas"), tol));
                out.add(Comparison.of("euler.init_noise_sigma", new double[] {s.initNoiseSigma()},
                        doubles(c.tensors().floats("euler.init_noise_sigma")), tol));
                Tensor x = sample.scale(s.initNoiseSigma());
                out.add(Comparison.of("euler.x0", x, c.tensor("euler.x0"), tol));
                for (int k = 0; c.tensors().contains("euler.step" + k + ".model_output"); k++) {
                    String p = "euler.step" + k + ".";
                    double t = ts.get(k);
                    out.add(Comparison.of(p + "scaled_model_input", s.scaleModelInput(x, t), c.tensor(p + "scaled_model_input"), tol));
                    StepOutput o = s.stepOutput(input(c, p + "model_output", device), t, x);
                    out.add(Comparison.of(p + "prev_sample", o.prevSample(), c.tensor(p + "prev_sample"), tol));
                    out.add(Comparison.of(p + "pred_original_sample", o.predOriginalSample(), c.tensor(p + "pred_original_sample"), tol));
                    x = o.prevSample();
                }
            }
        }
        return out;
    }

    private static Tensor input(GoldenCase c, String name, Device device) {
        Tensor t = c.tensor(name);
        return device.isCpu() ? t : t.to(device);
    }

    private static double[] doubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }
}
