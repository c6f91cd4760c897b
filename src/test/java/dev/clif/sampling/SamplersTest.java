package dev.clif.sampling;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;
import dev.clif.golden.Comparison;
import dev.clif.golden.GoldenCase;
import dev.clif.golden.GoldenRunner;
import dev.clif.golden.SamplerCases;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** DPM++ 2M (Karras) and Euler a against diffusers 0.25.1 (golden root samplers/), and their names and configs. */
class SamplersTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Path sidecar() {
        return dev.clif.TestData.goldenPath().resolve("samplers/cases/samplers.json");
    }

    private static SchedulerConfig sd15(Object... overrides) {
        ObjectNode n = JSON.createObjectNode();
        n.put("_class_name", "PNDMScheduler");
        n.put("beta_start", 0.00085);
        n.put("beta_end", 0.012);
        n.put("beta_schedule", "scaled_linear");
        n.put("num_train_timesteps", 1000);
        n.put("steps_offset", 1);
        for (int i = 0; i < overrides.length; i += 2) n.set((String) overrides[i], JSON.valueToTree(overrides[i + 1]));
        return SchedulerConfig.fromJson(n, "test config");
    }

    @Test
    void goldenSamplersCasePasses() {
        org.junit.jupiter.api.Assertions.assertTrue(Files.isRegularFile(sidecar()), "no golden data at " + sidecar());
        assertTrue(GoldenRunner.standard().supports("samplers"));
        try (GoldenCase c = GoldenCase.open(sidecar()); TensorScope scope = TensorScope.open()) {
            List<Comparison> comparisons = new SamplerCases().run(c, Device.CPU);
            // 3 configs, 2 x (timesteps, sigmas, 6 x 2), Euler a: sigmas, init sigma, x0, 6 x 2
            assertEquals(3 + 2 * (2 + 12) + 3 + 12, comparisons.size());
            for (Comparison cmp : comparisons) {
                System.out.println(cmp.line("samplers"));
                assertTrue(cmp.pass(), cmp.line("samplers"));
            }
        }
        for (Comparison cmp : GoldenRunner.standard().run(sidecar(), Device.CPU)) assertTrue(cmp.pass(), cmp.line("samplers"));
    }

    @Test
    void namesAndA1111Names() {
        assertEquals("dpmpp-2m", Scheduler.normalizeKind("DPM++ 2M"));
        assertEquals("dpmpp-2m-karras", Scheduler.normalizeKind("DPM++ 2M Karras"));
        assertEquals("dpmpp-2m-karras", Scheduler.normalizeKind("dpmpp_2m_karras"));
        assertEquals("euler-a", Scheduler.normalizeKind("Euler a"));
        assertEquals("euler-a", Scheduler.normalizeKind("k_euler_a"));
        assertEquals("euler", Scheduler.normalizeKind("Euler"));
        ClifException e = assertThrows(ClifException.class, () -> Scheduler.normalizeKind("DPM++ SDE"));
        assertTrue(e.getMessage().contains("dpmpp-2m-karras"), e.getMessage());
        try (Scheduler s = Scheduler.create(sd15(), "DPM++ 2M Karras")) {
            assertEquals("dpmpp-2m-karras", s.kind());
            assertTrue(s.config().useKarrasSigmas());
        }
        // by name, DPM++ 2M is 2M whatever the folder's DPM config said
        try (Scheduler s = Scheduler.create(sd15("use_karras_sigmas", true, "solver_order", 3), "dpmpp-2m")) {
            assertEquals("dpmpp-2m", s.kind());
            assertEquals(2, s.config().solverOrder());
        }
    }

    @Test
    void chosenByClassName() {
        assertEquals("dpmpp-2m", Scheduler.kindOfClass(sd15("_class_name", "DPMSolverMultistepScheduler")));
        assertEquals("dpmpp-2m-karras", Scheduler.kindOfClass(sd15("_class_name", "DPMSolverMultistepScheduler",
                "use_karras_sigmas", true)));
        assertEquals("euler-a", Scheduler.kindOfClass(sd15("_class_name", "EulerAncestralDiscreteScheduler")));
        ClifException e = assertThrows(ClifException.class, () -> Scheduler.kindOfClass(sd15("_class_name",
                "DPMSolverMultistepScheduler", "algorithm_type", "sde-dpmsolver++")));
        assertTrue(e.getMessage().contains("algorithm_type"), e.getMessage());
        assertThrows(ClifException.class, () -> Scheduler.kindOfClass(sd15("_class_name", "DPMSolverMultistepScheduler",
                "solver_order", 3)));
    }

    @Test
    void diffusersSavedConfigWithBareInfinityIsRead(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("scheduler_config.json"), """
                {"_class_name": "DPMSolverMultistepScheduler", "beta_schedule": "scaled_linear", "beta_start": 0.00085,
                 "beta_end": 0.012, "lambda_min_clipped": -Infinity, "use_karras_sigmas": true, "prediction_type": "v_prediction"}""");
        try (Scheduler s = Scheduler.fromFolder(dir)) {
            assertEquals("dpmpp-2m-karras", s.kind());
            assertEquals(Double.NEGATIVE_INFINITY, s.config().lambdaMinClipped());
            assertEquals("linspace", s.config().timestepSpacing());
        }
    }

    /** diffusers 0.25.1 timesteps (numpy 1.24) for SD-1.5 (steps_offset 1): DPM with 10 steps, each spacing; Euler a linspace. */
    @Test
    void timestepSpacings() {
        try (Scheduler s = Scheduler.create(sd15(), "dpmpp-2m")) {
            assertArrayEquals(new long[] {999, 899, 799, 699, 599, 500, 400, 300, 200, 100}, s.setTimesteps(10).longs());
        }
        try (Scheduler s = Scheduler.create(sd15("timestep_spacing", "leading"), "dpmpp-2m")) {
            assertArrayEquals(new long[] {901, 811, 721, 631, 541, 451, 361, 271, 181, 91}, s.setTimesteps(10).longs());
        }
        try (Scheduler s = Scheduler.create(sd15("timestep_spacing", "trailing"), "dpmpp-2m")) {
            assertArrayEquals(new long[] {999, 899, 799, 699, 599, 499, 399, 299, 199, 99}, s.setTimesteps(10).longs());
        }
        try (Scheduler s = Scheduler.create(sd15(), "euler-a")) {
            assertArrayEquals(new float[] {999f, 888f, 777f, 666f, 555f, 444f, 333f, 222f, 111f, 0f}, s.setTimesteps(10).floats());
        }
    }

    /** v-prediction: x0 = alpha_t x - sigma_t v; with v = the true v of a known x0 and noise, DPM recovers that x0. */
    @Test
    void vPredictionDataPredictionIsExactForTheTrueV() {
        try (TensorScope scope = TensorScope.open();
             Scheduler s = Scheduler.create(sd15("prediction_type", "v_prediction"), "dpmpp-2m")) {
            Timesteps ts = s.setTimesteps(10);
            float sigma = ((DpmSolverMultistepScheduler) s).sigmas()[0];
            double alpha = 1 / Math.sqrt(sigma * sigma + 1.0), sig = sigma * alpha;
            Tensor x0 = Tensor.randn(1, DType.F32, Device.CPU, 1, 4, 8, 8);
            Tensor eps = Tensor.randn(2, DType.F32, Device.CPU, 1, 4, 8, 8);
            Tensor xt = Tensor.axpby(alpha, x0, sig, eps);
            Tensor v = Tensor.axpby(alpha, eps, -sig, x0);
            StepOutput o = s.stepOutput(v, ts.get(0), xt);
            assertTrue(o.predOriginalSample().maxAbsDiff(x0) < 1e-5, "x0 off by " + o.predOriginalSample().maxAbsDiff(x0));
        }
    }

    /** Euler a's own noise: row i depends on its seed only, so an image is the same alone and in a batch. */
    @Test
    void eulerAncestralNoiseIsPerImage() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.randn(5, DType.F32, Device.CPU, 2, 4, 8, 8);
            Tensor eps = Tensor.randn(6, DType.F32, Device.CPU, 2, 4, 8, 8);
            Tensor batch;
            try (EulerAncestralDiscreteScheduler s = (EulerAncestralDiscreteScheduler) Scheduler.create(sd15(), "euler-a")) {
                Timesteps ts = s.setTimesteps(5);
                s.setNoiseSeeds(40, 41);
                batch = s.step(eps, ts.get(0), x);
            }
            Tensor alone;
            try (EulerAncestralDiscreteScheduler s = (EulerAncestralDiscreteScheduler) Scheduler.create(sd15(), "euler-a")) {
                Timesteps ts = s.setTimesteps(5);
                s.setNoiseSeeds(41);
                alone = s.step(eps.narrow(0, 1, 1), ts.get(0), x.narrow(0, 1, 1));
            }
            assertEquals(0.0, batch.narrow(0, 1, 1).maxAbsDiff(alone));
            assertTrue(batch.narrow(0, 0, 1).maxAbsDiff(alone) > 0.01);
        }
    }
}
