package dev.clif.golden;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;
import dev.clif.sampling.SafeLatentDiffusion;
import dev.clif.tensor.Device;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Safe Latent Diffusion against diffusers 0.25.1 (golden root {@code sld/}) and against a hand computation. */
class SldGoldenTest {
    @Test
    void pipelineSldMatchesDiffusersSafePipeline() {
        Path root = dev.clif.TestData.goldenPath().resolve("sld");
        org.junit.jupiter.api.Assertions.assertTrue(Files.isDirectory(root.resolve("cases")), "golden sld data not present");
        // Fixed kernels: in a clean-clone CI run on an AMD EPYC (fresh route cache, calibrated while another job ran) step 3's
        // latents came out 0.0021 off diffusers' (tolerance 0.0006), and within it with these routes and with this
        // machine's calibrated cache; SLD's guidance amplifies kernel rounding step by step.
        List<GoldenRunner.Result> results;
        dev.clif.tensor.KernelRoutes.setOverride(dev.clif.TestData.PINNED_ROUTES);
        try {
            results = GoldenRunner.standard().runAll(root, Device.CPU);
        } finally {
            dev.clif.tensor.KernelRoutes.setOverride("");
        }
        assertEquals(1, results.size());
        GoldenRunner.Result r = results.get(0);
        assertEquals("pipeline_sld", r.caseName());
        // 3 embeddings + 4 steps x 3 + timesteps + image
        assertEquals(17, r.comparisons().size());
        List<String> failed = r.comparisons().stream().filter(c -> !c.pass()).map(c -> c.line(r.caseName())).toList();
        assertEquals(List.of(), failed);
    }

    @Test
    void combineByHand() {
        // s_S = 10, λ = 0.5, s_m = 0.5, β = 0.25, warm-up 1, w = 2
        SafeLatentDiffusion sld = new SafeLatentDiffusion(1, 10, 0.5, 0.5, 0.25, "c");
        float[] u = {0f, 1f}, t = {1f, 1f}, s = {0.95f, 2f}, mom = new float[2];
        // step 0 (warm-up): diff = {0.05, -1}; scale = {min(0.5,1), min(10,1)} = {0.5, 1}; diff >= 0.5? no, no
        // g_s = {(0.95-0)*0.5, (2-1)*1} + 0.5*0 = {0.475, 1}; momentum = 0.75 * g_s = {0.35625, 0.75}
        // warm-up: guidance = t - u = {1, 0}; eps = u + 2 guidance = {2, 1}
        float[] e0 = sld.combine(u, t, s, mom, 0, 2);
        assertArrayEquals(new float[] {2f, 1f}, e0, 1e-6f);
        assertArrayEquals(new float[] {0.35625f, 0.75f}, mom, 1e-6f);
        // step 1: g_s = {0.475 + 0.5*0.35625, 1 + 0.5*0.75} = {0.653125, 1.375}
        // momentum = 0.25*{0.35625, 0.75} + 0.75*g_s = {0.5789063, 1.21875}
        // guidance = {1 - 0.653125, 0 - 1.375}; eps = {0.69375, 1 - 2.75}
        float[] e1 = sld.combine(u, t, s, mom, 1, 2);
        assertArrayEquals(new float[] {0.69375f, -1.75f}, e1, 1e-6f);
        assertArrayEquals(new float[] {0.57890625f, 1.21875f}, mom, 1e-6f);
        // the threshold: diff = 0.6 >= 0.5 zeroes the scale, leaving only the momentum
        float[] m2 = {0.2f};
        float[] e2 = sld.combine(new float[] {0f}, new float[] {1f}, new float[] {0.4f}, m2, 5, 1.5);
        assertArrayEquals(new float[] {1.5f * (1f - 0.1f)}, e2, 1e-6f);
    }

    @Test
    void generateWithSldFromTheCommandLine(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path sd = dev.clif.TestData.goldenPath().resolve("tiny-sd");
        org.junit.jupiter.api.Assertions.assertTrue(Files.isDirectory(sd), "golden tiny-sd not present");
        String[] base = {"generate", "--model", sd.toString(), "--prompt", "a red car", "--steps", "4", "--seed", "5"};
        java.util.function.BiFunction<String, String[], byte[]> gen = (name, extra) -> {
            java.util.List<String> a = new java.util.ArrayList<>(List.of(base));
            a.addAll(List.of(extra));
            a.addAll(List.of("--out", tmp.resolve(name).toString()));
            dev.clif.cli.CliRun r = dev.clif.cli.CliRun.of(a.toArray(String[]::new));
            assertEquals(0, r.exit(), r.err());
            try {
                return Files.readAllBytes(tmp.resolve(name));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };
        byte[] plain = gen.apply("plain.png", new String[0]);
        byte[] max = gen.apply("max.png", new String[] {"--sld", "max", "--sld-concept", "red"});
        byte[] again = gen.apply("again.png", new String[] {"--sld", "MAX", "--sld-concept", "red"});
        assertArrayEquals(max, again, "the same seed gives the same bytes");
        assertFalse(java.util.Arrays.equals(plain, max), "SLD changes the image");
        dev.clif.cli.CliRun bad = dev.clif.cli.CliRun.of("generate", "--model", sd.toString(), "--prompt", "x", "--sld", "extreme",
                "--out", tmp.resolve("bad.png").toString());
        bad.assertOneLineExit2("unknown SLD preset 'extreme'");
    }

    @Test
    void presetsAreDiffusersSafetyConfig() {
        SafeLatentDiffusion strong = SafeLatentDiffusion.preset("STRONG");
        assertEquals(new SafeLatentDiffusion(7, 2000, 0.025, 0.5, 0.7, SafeLatentDiffusion.DEFAULT_CONCEPT), strong);
        assertEquals(0, SafeLatentDiffusion.preset("max").warmupSteps());
        assertEquals(List.of("weak", "medium", "strong", "max"), List.copyOf(SafeLatentDiffusion.PRESETS.keySet()));
        ClifException e = assertThrows(ClifException.class, () -> SafeLatentDiffusion.preset("extreme"));
        assertTrue(e.getMessage().contains("weak, medium, strong, max"), e.getMessage());
        assertFalse(SafeLatentDiffusion.preset("weak").enabled(1.0), "no SLD without classifier-free guidance");
    }
}
