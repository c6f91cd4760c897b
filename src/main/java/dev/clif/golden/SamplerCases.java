package dev.clif.golden;

import dev.clif.sampling.DpmSolverMultistepScheduler;
import dev.clif.sampling.EulerAncestralDiscreteScheduler;
import dev.clif.sampling.Scheduler;
import dev.clif.sampling.SchedulerConfig;
import dev.clif.sampling.Timesteps;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/**
 * The "samplers" case: DPM++ 2M, DPM++ 2M Karras and Euler a, each built by name from the sidecar's
 * {@code base_config} (the SD-1.5 scheduler config, as the case's {@code configs} show diffusers read it), run for
 * {@code nsteps} sequential steps of a {@code steps}-step schedule from {@code sample} with the stored model outputs
 * (and, for Euler a, the stored noise of each step). Timesteps exactly; sigmas and samples within tolerance.
 */
public final class SamplerCases implements CaseRunner {
    @Override
    public List<String> cases() {
        return List.of("samplers");
    }

    @Override
    public List<Comparison> run(GoldenCase c, Device device) {
        Tolerance tol = c.tolerance("arrays_and_steps");
        int steps = c.sidecar().path("steps").asInt();
        List<Comparison> out = new ArrayList<>();
        SchedulerConfig base = SchedulerConfig.fromJson(c.sidecar().get("base_config"), c.sidecarPath() + "#base_config");
        try (TensorScope scope = TensorScope.open()) {
            Tensor sample = input(c, "sample", device);
            for (String name : List.of("dpmpp_2m", "dpmpp_2m_karras")) {
                try (Scheduler s = Scheduler.create(base, name.replace('_', '-'))) {
                    checkConfig(out, c, name, s);
                    DpmSolverMultistepScheduler dpm = (DpmSolverMultistepScheduler) s;
                    Timesteps ts = s.setTimesteps(steps);
                    out.add(Comparison.exact(name + ".timesteps", ts.longs(), c.tensors().longs(name + ".timesteps")));
                    out.add(Comparison.of(name + ".sigmas", dpm.sigmas(), c.tensors().floats(name + ".sigmas"), tol));
                    Tensor x = sample;
                    for (int k = 0; c.tensors().contains(name + ".step" + k + ".model_output"); k++) {
                        String p = name + ".step" + k + ".";
                        Tensor in = s.scaleModelInput(x, ts.get(k));
                        out.add(Comparison.of(p + "model_input_unscaled", in, x, Tolerance.EXACT));
                        x = s.step(input(c, p + "model_output", device), ts.get(k), x);
                        out.add(Comparison.of(p + "prev_sample", x, c.tensor(p + "prev_sample"), tol));
                    }
                }
            }
            String name = "euler_a";
            try (Scheduler s = Scheduler.create(base, "euler-a")) {
                checkConfig(out, c, name, s);
                EulerAncestralDiscreteScheduler ea = (EulerAncestralDiscreteScheduler) s;
                Timesteps ts = s.setTimesteps(steps);
                out.add(Comparison.of(name + ".sigmas", ea.sigmas(), c.tensors().floats(name + ".sigmas"), tol));
                out.add(Comparison.of(name + ".init_noise_sigma", new double[] {s.initNoiseSigma()},
                        new double[] {c.tensors().floats(name + ".init_noise_sigma")[0]}, tol));
                Tensor x = sample.scale(s.initNoiseSigma());
                out.add(Comparison.of(name + ".x0", x, c.tensor(name + ".x0"), tol));
                for (int k = 0; c.tensors().contains(name + ".step" + k + ".model_output"); k++) {
                    String p = name + ".step" + k + ".";
                    double t = ts.get(k);
                    out.add(Comparison.of(p + "scaled_model_input", s.scaleModelInput(x, t), c.tensor(p + "scaled_model_input"), tol));
                    x = ea.step(input(c, p + "model_output", device), t, x, input(c, p + "noise", device)).prevSample();
                    out.add(Comparison.of(p + "prev_sample", x, c.tensor(p + "prev_sample"), tol));
                }
            }
        }
        return out;
    }

    /** The config Clif's scheduler runs with agrees with what diffusers read ({@code configs.NAME}). */
    private static void checkConfig(List<Comparison> out, GoldenCase c, String name, Scheduler s) {
        JsonNode ref = c.sidecar().path("configs").path(name);
        if (ref.isMissingNode()) return;
        SchedulerConfig mine = s.config();
        List<String> differs = new ArrayList<>();
        if (!ref.path("timestep_spacing").asText().equals(mine.timestepSpacing())) differs.add("timestep_spacing");
        if (ref.path("steps_offset").asInt() != mine.stepsOffset()) differs.add("steps_offset");
        if (!ref.path("prediction_type").asText().equals(mine.predictionType())) differs.add("prediction_type");
        if (ref.has("use_karras_sigmas") && ref.path("use_karras_sigmas").asBoolean() != mine.useKarrasSigmas())
            differs.add("use_karras_sigmas");
        if (ref.has("solver_order") && ref.path("solver_order").asInt() != mine.solverOrder()) differs.add("solver_order");
        if (ref.has("algorithm_type") && !ref.path("algorithm_type").asText().equals(mine.algorithmType())) differs.add("algorithm_type");
        if (ref.has("lower_order_final") && ref.path("lower_order_final").asBoolean() != mine.lowerOrderFinal())
            differs.add("lower_order_final");
        out.add(new Comparison(name + ".config", differs.isEmpty(), differs.isEmpty() ? 0 : Double.NaN, Tolerance.EXACT,
                differs.isEmpty() ? "" : "differs from diffusers' in " + differs));
    }

    private static Tensor input(GoldenCase c, String name, Device device) {
        Tensor t = c.tensor(name);
        return device.isCpu() ? t : t.to(device);
    }
}
