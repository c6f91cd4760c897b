package dev.clif.sampling;

import dev.clif.TestData;
import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;
import dev.clif.golden.Comparison;
import dev.clif.golden.GoldenCase;
import dev.clif.golden.GoldenRunner;
import dev.clif.golden.SchedulerCases;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SchedulerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> KINDS = List.of("ddim", "pndm", "euler");

    private static Path golden() {
        return Path.of(TestData.golden());
    }

    /** The SD-1.5 scheduler config, plus overrides ("key", value, ...). */
    private static SchedulerConfig sd15(Object... overrides) {
        ObjectNode n = JSON.createObjectNode();
        n.put("_class_name", "PNDMScheduler");
        n.put("beta_start", 0.00085);
        n.put("beta_end", 0.012);
        n.put("beta_schedule", "scaled_linear");
        n.put("num_train_timesteps", 1000);
        n.put("set_alpha_to_one", false);
        n.put("skip_prk_steps", true);
        n.put("steps_offset", 1);
        n.put("clip_sample", false);
        for (int i = 0; i < overrides.length; i += 2) n.set((String) overrides[i], JSON.valueToTree(overrides[i + 1]));
        return SchedulerConfig.fromJson(n, "test config");
    }

    @Test
    void goldenSchedulersCasePasses() {
        Path sidecar = golden().resolve("cases/schedulers.json");
        Assertions.assertTrue(Files.isRegularFile(sidecar), "no golden data at " + sidecar);
        assertTrue(GoldenRunner.standard().supports("schedulers"));
        try (GoldenCase c = GoldenCase.open(sidecar); TensorScope scope = TensorScope.open()) {
            List<Comparison> comparisons = new SchedulerCases().run(c, Device.CPU);
            assertTrue(comparisons.size() >= 30, "too few comparisons: " + comparisons.size());
            for (Comparison cmp : comparisons) {
                System.out.println(cmp.line("schedulers"));
                assertTrue(cmp.pass(), cmp.line("schedulers"));
            }
        }
    }

    @Test
    void goldenRunnerRunsTheCase() {
        Path sidecar = golden().resolve("cases/schedulers.json");
        Assertions.assertTrue(Files.isRegularFile(sidecar), "no golden data at " + sidecar);
        for (Comparison cmp : GoldenRunner.standard().run(sidecar, Device.CPU)) assertTrue(cmp.pass(), cmp.line("schedulers"));
    }

    @Test
    void alphasCumprodStrictlyDecreasingInsideZeroOne() {
        for (String schedule : List.of("linear", "scaled_linear", "squaredcos_cap_v2"))
            for (String kind : KINDS) {
                SchedulerConfig cfg = sd15("beta_schedule", schedule, "beta_start", 0.0001, "beta_end", 0.02);
                try (Scheduler s = Scheduler.create(cfg, kind)) {
                    float[] a = s.alphasCumprod();
                    assertEquals(1000, a.length);
                    for (int i = 0; i < a.length; i++) {
                        assertTrue(a[i] > 0 && a[i] < 1, schedule + "/" + kind + ": alphas_cumprod[" + i + "] = " + a[i]);
                        if (i > 0) assertTrue(a[i] < a[i - 1], schedule + "/" + kind + ": not decreasing at " + i);
                        assertEquals(a[i], s.alphaProd(i), 0.0);
                    }
                }
            }
    }

    @Test
    void ddimWithTrueNoiseRecoversX0InOneStep() {
        SchedulerConfig cfg = sd15("set_alpha_to_one", true, "steps_offset", 0, "timestep_spacing", "trailing");
        try (TensorScope scope = TensorScope.open(); DdimScheduler s = new DdimScheduler(cfg)) {
            Tensor x0 = Tensor.randn(1, DType.F32, Device.CPU, 1, 4, 8, 8);
            Tensor eps = Tensor.randn(2, DType.F32, Device.CPU, 1, 4, 8, 8);
            // one step from the noisiest timestep straight to 0
            assertArrayEquals(new long[] {999}, s.setTimesteps(1).longs());
            Tensor xt = s.addNoise(x0, eps, 999);
            Tensor x = s.step(eps, 999, xt);
            assertTrue(x.maxAbsDiff(x0) < 2e-5, "x0 recovered to " + x.maxAbsDiff(x0));
            // at any timestep the prediction of x0 is x0
            s.setTimesteps(20);
            for (long t : new long[] {999, 500, 49}) {
                try (StepOutput o = s.stepOutput(eps, t, s.addNoise(x0, eps, t))) {
                    assertTrue(o.predOriginalSample().maxAbsDiff(x0) < 2e-5, "t=" + t);
                }
            }
        }
    }

    @Test
    void eulerWithTrueNoisePredictsX0() {
        try (TensorScope scope = TensorScope.open(); Scheduler s = Scheduler.create(sd15(), "euler")) {
            Tensor x0 = Tensor.randn(3, DType.F32, Device.CPU, 1, 4, 8, 8);
            Tensor eps = Tensor.randn(4, DType.F32, Device.CPU, 1, 4, 8, 8);
            Timesteps ts = s.setTimesteps(10);
            Tensor xt = s.addNoise(x0, eps, ts.get(0));
            try (StepOutput o = s.stepOutput(eps, ts.get(0), xt)) {
                assertTrue(o.predOriginalSample().maxAbsDiff(x0) < 1e-5);
                float next = ((EulerDiscreteScheduler) s).sigmas()[1];
                try (Tensor expected = Tensor.axpby(1, x0, next, eps)) {
                    assertTrue(o.prevSample().maxAbsDiff(expected) < 1e-4);
                }
            }
        }
    }

    /** With the true noise as model output, every sampler follows the forward process exactly down to x0. */
    @Test
    void trueNoiseFollowsTheForwardTrajectoryToTheEnd() {
        record Case(String kind, SchedulerConfig cfg, int n) {}
        for (Case k : List.of(new Case("ddim", sd15(), 10), new Case("pndm", sd15(), 10),
                new Case("pndm", sd15("skip_prk_steps", false), 10), new Case("euler", sd15(), 10),
                new Case("ddim", sd15("prediction_type", "v_prediction"), 7))) {
            try (TensorScope scope = TensorScope.open(); Scheduler s = Scheduler.create(k.cfg(), k.kind())) {
                Tensor x0 = Tensor.randn(6, DType.F32, Device.CPU, 1, 4, 8, 8);
                Tensor eps = Tensor.randn(7, DType.F32, Device.CPU, 1, 4, 8, 8);
                Timesteps ts = s.setTimesteps(k.n());
                Tensor x = k.kind().equals("euler") ? Tensor.axpby(1, x0, s.initNoiseSigma(), eps) : s.addNoise(x0, eps, ts.get(0));
                boolean v = k.cfg().predictionType() != null && k.cfg().predictionType().equals("v_prediction");
                for (int i = 0; i < ts.size(); i++) {
                    Tensor out = eps;
                    if (v) { // v = sqrt(a) eps - sqrt(1 - a) x0
                        double a = s.alphaProd((int) ts.get(i));
                        out = Tensor.axpby(Math.sqrt(a), eps, -Math.sqrt(1 - a), x0);
                    }
                    x = s.step(out, ts.get(i), x);
                }
                Tensor expected = k.kind().equals("euler") ? x0
                        : Tensor.axpby(Math.sqrt(s.alphaProd(0)), x0, Math.sqrt(1 - s.alphaProd(0)), eps);
                double err = x.maxAbsDiff(expected);
                assertTrue(err < 1e-4, k + ": ended " + err + " away from the forward trajectory");
            }
        }
    }

    @Test
    void clipSampleClampsThePredictedX0() {
        SchedulerConfig cfg = sd15("clip_sample", true, "clip_sample_range", 0.5);
        try (TensorScope scope = TensorScope.open(); DdimScheduler s = new DdimScheduler(cfg)) {
            s.setTimesteps(10);
            Tensor x = Tensor.randn(8, DType.F32, Device.CPU, 1, 4, 8, 8).scale(5);
            Tensor eps = Tensor.randn(9, DType.F32, Device.CPU, 1, 4, 8, 8);
            try (StepOutput o = s.stepOutput(eps, s.timesteps().get(3), x)) {
                float max = 0;
                for (float f : o.predOriginalSample().toFloatArray()) max = Math.max(max, Math.abs(f));
                assertEquals(0.5f, max);
            }
        }
    }

    @Test
    void timestepsDecreaseInsideTheTrainingRange() {
        for (String kind : KINDS)
            for (String spacing : List.of("leading", "trailing", "linspace"))
                for (boolean prk : new boolean[] {false, true})
                    for (int n : new int[] {1, 4, 7, 20, 25, 50, 100, 333}) {
                        // PRK adds half an interval past the last timestep: in range only for 'leading' (as in diffusers)
                        if (prk && (!kind.equals("pndm") || n < 4 || !spacing.equals("leading"))) continue;
                        SchedulerConfig cfg = sd15("timestep_spacing", spacing, "skip_prk_steps", !prk, "steps_offset", 1);
                        try (Scheduler s = Scheduler.create(cfg, kind)) {
                            double[] t = s.setTimesteps(n).values();
                            String what = kind + "/" + spacing + (prk ? "/prk" : "") + "/n=" + n;
                            int repeats = 0;
                            for (int i = 0; i < t.length; i++) {
                                assertTrue(t[i] >= 0 && t[i] < 1000, what + ": timestep " + t[i]);
                                if (i > 0 && t[i] == t[i - 1]) repeats++;
                                else if (i > 0) assertTrue(t[i] < t[i - 1], what + ": not decreasing at " + i);
                            }
                            if (kind.equals("pndm") && prk) {
                                assertEquals(12 + n - 3, t.length, what);
                            } else if (kind.equals("pndm")) {
                                assertEquals(n + (n > 1 ? 1 : 0), t.length, what);
                                assertEquals(n > 1 ? 1 : 0, repeats, what + ": PLMS repeats its second timestep once");
                            } else {
                                assertEquals(n, t.length, what);
                                assertEquals(0, repeats, what);
                            }
                        }
                    }
    }

    @Test
    void pndmRunsThroughPrkAndPlmsWithoutLeaking() {
        long before = Tensor.liveCount();
        for (boolean skip : new boolean[] {true, false}) {
            try (TensorScope scope = TensorScope.open(); Scheduler s = Scheduler.create(sd15("skip_prk_steps", skip), "pndm")) {
                Timesteps ts = s.setTimesteps(10);
                Tensor x = Tensor.randn(5, DType.F32, Device.CPU, 1, 4, 4, 4);
                for (int i = 0; i < ts.size(); i++) {
                    try (Tensor eps = Tensor.randn(100 + i, DType.F32, Device.CPU, 1, 4, 4, 4)) {
                        Tensor next = s.step(eps, ts.get(i), x);
                        x.close();
                        x = next;
                    }
                    assertTrue(x.allFinite());
                }
            }
        }
        assertEquals(before, Tensor.liveCount(), "tensors leaked");
    }

    @Test
    void badConfigErrorsNameFileAndField(@TempDir Path dir) throws Exception {
        ObjectNode n = JSON.createObjectNode();
        n.put("_class_name", "DDIMScheduler");
        n.put("beta_schedule", "cubic");
        Files.writeString(dir.resolve("scheduler_config.json"), n.toString());
        ClifException e = assertThrows(ClifException.class, () -> Scheduler.fromFolder(dir));
        assertTrue(e.getMessage().contains("beta_schedule") && e.getMessage().contains("scheduler_config.json"), e.getMessage());

        n.put("beta_schedule", "linear");
        n.put("thresholding", true);
        Files.writeString(dir.resolve("scheduler_config.json"), n.toString());
        e = assertThrows(ClifException.class, () -> Scheduler.fromFolder(dir));
        assertTrue(e.getMessage().contains("thresholding") && e.getMessage().contains("scheduler_config.json"), e.getMessage());

        n.put("thresholding", false);
        n.put("num_train_timesteps", "many");
        Files.writeString(dir.resolve("scheduler_config.json"), n.toString());
        e = assertThrows(ClifException.class, () -> Scheduler.fromFolder(dir));
        assertTrue(e.getMessage().contains("num_train_timesteps"), e.getMessage());

        n.put("num_train_timesteps", 1000);
        n.put("_class_name", "LMSDiscreteScheduler");
        Files.writeString(dir.resolve("scheduler_config.json"), n.toString());
        e = assertThrows(ClifException.class, () -> Scheduler.fromFolder(dir));
        assertTrue(e.getMessage().contains("_class_name"), e.getMessage());

        assertThrows(ClifException.class, () -> Scheduler.create(sd15(), "heun"));
    }

    @Test
    void defaultsFollowTheTargetClass() {
        SchedulerConfig raw = sd15();
        assertEquals("linspace", raw.withDefaultsFor("euler").timestepSpacing());
        assertEquals("leading", raw.withDefaultsFor("ddim").timestepSpacing());
        SchedulerConfig bare = SchedulerConfig.fromJson(JSON.createObjectNode(), "empty");
        assertTrue(bare.withDefaultsFor("ddim").clipSample());
        assertTrue(bare.withDefaultsFor("ddim").setAlphaToOne());
        assertFalse(bare.withDefaultsFor("pndm").setAlphaToOne());
        assertEquals("linear", bare.withDefaultsFor("pndm").betaSchedule());
    }

    @Test
    void fromFolderPicksTheClassOfTheGoldenScheduler() {
        Path dir = golden().resolve("tiny-sd/scheduler");
        Assertions.assertTrue(Files.isDirectory(dir), "no golden data at " + dir);
        try (Scheduler s = Scheduler.fromFolder(dir)) {
            assertEquals("ddim", s.kind());
            assertEquals(1.0, s.initNoiseSigma());
        }
    }
}
