package dev.clif.golden;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;
import dev.clif.TestData;
import dev.clif.model.Conditioning;
import dev.clif.sampling.StableDiffusion;
import dev.clif.model.UNet;
import dev.clif.model.UNetConfig;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** SDXL (golden root {@code sdxl/}, diffusers 0.25.1 StableDiffusionXLPipeline on tiny-sdxl) and its refusals. */
class SdxlGoldenTest {
    static Path root() {
        Path root = TestData.goldenPath().resolve("sdxl");
        assertTrue(Files.isDirectory(root.resolve("cases")), "golden sdxl data not present: " + root);
        return root;
    }

    @Test
    void everySdxlCaseMatchesDiffusers() {
        List<GoldenRunner.Result> results = GoldenRunner.standard().runAll(root(), Device.CPU);
        Map<String, Integer> expected = Map.of("sdxl_encode_prompt", 4, "sdxl_unet_forward", 1,
                "pipeline_sdxl", 2 + 3 * 3 + 3); // added conditioning, 3 steps x 3, timesteps, final latents, raw image
        assertEquals(expected.keySet(), results.stream().map(GoldenRunner.Result::caseName).collect(java.util.stream.Collectors.toSet()));
        for (GoldenRunner.Result r : results) {
            assertEquals(expected.get(r.caseName()), r.comparisons().size(), r.caseName());
            List<String> failed = r.comparisons().stream().filter(c -> !c.pass()).map(c -> c.line(r.caseName())).toList();
            assertEquals(List.of(), failed);
        }
    }

    @Test
    void aTextTimeUnetRefusesToRunWithoutItsAddedConditioning() {
        Path unetDir = root().resolve("tiny-sdxl/unet");
        try (TensorScope scope = TensorScope.open(); UNet unet = UNet.load(unetDir, Device.CPU, DType.F32)) {
            assertTrue(unet.config().hasTextTime());
            Tensor x = Tensor.zeros(DType.F32, Device.CPU, 1, 4, 8, 8);
            Tensor t = Tensor.of(new long[] {10}, 1);
            Tensor ehs = Tensor.zeros(DType.F32, Device.CPU, 1, 77, 64);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> unet.forward(x, t, ehs, false));
            assertTrue(e.getMessage().contains("text_time"), e.getMessage());
            // the native side refuses too (a caller passing NULLs)
            Exception n = assertThrows(RuntimeException.class, () -> unet.forward(x, t, ehs, null, null, false));
            assertTrue(n.getMessage().contains("text_embeds and time_ids"), n.getMessage());
            // a wrong added width is named
            Exception w = assertThrows(RuntimeException.class, () -> unet.forward(x, t, ehs,
                    Tensor.zeros(DType.F32, Device.CPU, 1, 31), Tensor.zeros(DType.F32, Device.CPU, 1, 6), false));
            assertTrue(w.getMessage().contains("projection_class_embeddings_input_dim"), w.getMessage());
        }
    }

    @Test
    void sdxlConfigFieldsAreCheckedAndTheRealConfigParses() {
        UNetConfig xl = UNetConfig.xl();
        assertTrue(xl.hasTextTime());
        assertEquals(List.of(List.of(1, 1), List.of(2, 2), List.of(10, 10)), xl.transformerLayersPerBlock());
        assertEquals(List.of(List.of(10, 10, 10), List.of(2, 2, 2), List.of(1, 1, 1)), xl.upTransformerLayersPerBlock());
        assertEquals(10, xl.midTransformerLayers());
        ClifException e = assertThrows(ClifException.class, () -> UNetConfig.parse(
                "{\"addition_embed_type\": \"text_time\", \"addition_time_embed_dim\": 8}", "x.json"));
        assertTrue(e.getMessage().contains("projection_class_embeddings_input_dim"), e.getMessage());
        ClifException other = assertThrows(ClifException.class, () -> UNetConfig.parse("{\"addition_embed_type\": \"image\"}", "x.json"));
        assertTrue(other.getMessage().contains("only text_time"), other.getMessage());
    }

    @Test
    void negativeZerosOnlyForTheEmptyNegativeAndTimeIdsFollowTheImage() {
        try (TensorScope scope = TensorScope.open();
             StableDiffusion sd = StableDiffusion.load(root().resolve("tiny-sdxl"), Device.CPU, DType.F32)) {
            assertTrue(sd.isXl());
            assertTrue(sd.xl().forceZerosForEmptyPrompt());
            Conditioning neg = sd.condition(List.of("", "a cat"), 0, 48, 32, true);
            Conditioning pos = sd.condition(List.of("", "a cat"), 0, 48, 32, false);
            assertEquals(0, neg.hiddenStates().narrow(0, 0, 1).sumOfSquares());
            assertEquals(0, neg.textEmbeds().narrow(0, 0, 1).sumOfSquares());
            assertTrue(pos.hiddenStates().narrow(0, 0, 1).sumOfSquares() > 0, "an empty positive prompt is encoded, not zeroed");
            assertEquals(0, neg.hiddenStates().narrow(0, 1, 1).maxAbsDiff(pos.hiddenStates().narrow(0, 1, 1)));
            assertArrayEquals(new float[] {32, 48, 0, 0, 32, 48, 32, 48, 0, 0, 32, 48}, pos.timeIds().toFloatArray());
            // the concatenated width feeds the UNet's cross-attention
            assertEquals(64, pos.hiddenStates().shape()[2]);
        }
    }

    @Test
    void sdxlGenerationLeavesNoNativeTensorBehind() {
        try (StableDiffusion sd = StableDiffusion.load(root().resolve("tiny-sdxl"), Device.CPU, DType.F32)) {
            dev.clif.sampling.Txt2Img t2i = new dev.clif.sampling.Txt2Img(sd);
            dev.clif.sampling.Txt2Img.Request r = new dev.clif.sampling.Txt2Img.Request("a red car", "", 2, 5.0, null, 1, 32, 32, 2, 0, 0);
            t2i.generate(r, null).close(); // warm: lazily made native state is not a leak
            long before = Tensor.liveCount();
            for (int i = 0; i < 2; i++) t2i.generate(r, null).close();
            assertEquals(before, Tensor.liveCount(), "native tensors left after two SDXL generations");
        }
    }

    @Test
    void anSdxlFolderWithoutItsSecondTextEncoderIsRefusedByName(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path broken = tmp.resolve("xl");
        Files.createDirectories(broken);
        Files.copy(root().resolve("tiny-sdxl/model_index.json"), broken.resolve("model_index.json"));
        for (String c : List.of("tokenizer", "tokenizer_2", "text_encoder", "unet", "vae", "scheduler")) Files.createDirectories(broken.resolve(c));
        dev.clif.cli.CliRun.of("generate", "--model", broken.toString(), "--prompt", "x", "--out", tmp.resolve("x.png").toString())
                .assertOneLineExit2("text_encoder_2");
    }

    @Test
    void aTokenizerLinkFileIsFollowedOnlyToATokenizerFolder(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path tiny = root().resolve("tiny-sdxl");
        assertTrue(Files.isRegularFile(tiny.resolve("tokenizer_2")), "the golden tokenizer_2 is a link file");
        assertTrue(Files.isRegularFile(dev.clif.io.ModelFolder.componentDir(tiny, "tokenizer_2").resolve("vocab.json")));
        Path m = tmp.resolve("m");
        Files.createDirectories(m.resolve("sub"));
        Files.writeString(m.resolve("tokenizer"), "..");      // a folder, but no tokenizer: not followed
        Files.writeString(m.resolve("tokenizer_2"), "nowhere");
        Files.writeString(m.resolve("unet"), "sub");           // only tokenizer components are ever links
        for (String c : List.of("tokenizer", "tokenizer_2", "unet"))
            assertEquals(m.resolve(c), dev.clif.io.ModelFolder.componentDir(m, c), c);
    }

    @Test
    void microConditioningReachesTheTimeIdsAndTheImage(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        try (TensorScope scope = TensorScope.open();
             StableDiffusion sd = StableDiffusion.load(root().resolve("tiny-sdxl"), Device.CPU, DType.F32)) {
            Conditioning c = sd.condition(List.of("a cat"), 0, new dev.clif.model.SizeConditioning(64, 48, 8, 4, 32, 40), false);
            assertArrayEquals(new float[] {64, 48, 8, 4, 32, 40}, c.timeIds().toFloatArray());
        }
        String model = root().resolve("tiny-sdxl").toString();
        java.util.function.Function<String[], byte[]> gen = extra -> {
            Path out = tmp.resolve(String.join("_", extra).replace(',', '-') + "x.png");
            java.util.List<String> a = new java.util.ArrayList<>(List.of("generate", "--model", model, "--prompt", "a red car", "--steps", "2",
                    "--seed", "4", "--size", "32x32", "--out", out.toString()));
            a.addAll(List.of(extra));
            dev.clif.cli.CliRun r = dev.clif.cli.CliRun.of(a.toArray(String[]::new));
            assertEquals(0, r.exit(), r.err());
            try {
                return Files.readAllBytes(out);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };
        byte[] plain = gen.apply(new String[0]);
        assertArrayEquals(plain, gen.apply(new String[] {"--original-size", "32x32", "--crop-top-left", "0,0", "--target-size", "32x32"}),
                "the defaults are the image size and no crop");
        assertFalse(java.util.Arrays.equals(plain, gen.apply(new String[] {"--original-size", "1024x1024"})), "original_size conditions the UNet");
        dev.clif.cli.CliRun.of("generate", "--model", TestData.goldenPath().resolve("tiny-sd").toString(), "--prompt", "x", "--original-size", "64x64",
                "--out", tmp.resolve("sd1.png").toString()).assertOneLineExit2("SDXL's micro-conditioning");
        dev.clif.cli.CliRun.of("generate", "--model", model, "--prompt", "x", "--crop-top-left", "3", "--out", tmp.resolve("bad.png").toString())
                .assertOneLineExit2("--crop-top-left must look like 0,0");
    }
}
