package dev.clif.model;

import dev.clif.TestData;
import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;
import dev.clif.golden.ClipCases;
import dev.clif.golden.Comparison;
import dev.clif.golden.GoldenCase;
import dev.clif.golden.GoldenRunner;
import dev.clif.io.SafetensorsFile;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClipTest {
    static Path golden() {
        Path root = Path.of(TestData.golden());
        Assertions.assertTrue(Files.isDirectory(root.resolve("cases")), "no golden data at " + root);
        return root;
    }

    static void assertCasePasses(String caseName) {
        Path sidecar = golden().resolve("cases").resolve(caseName + ".json");
        Assertions.assertTrue(Files.exists(sidecar), "no golden case " + sidecar);
        List<Comparison> results = GoldenRunner.standard().run(sidecar, Device.CPU);
        assertFalse(results.isEmpty(), caseName + ": no comparisons");
        for (Comparison c : results) System.out.println(c.line(caseName));
        for (Comparison c : results) assertTrue(c.pass(), c.line(caseName));
    }

    @Test
    void textEncoderGoldenCase() {
        assertCasePasses("text_encoder");
    }

    @Test
    void clipModelGoldenCase() {
        assertCasePasses("clip_model");
    }

    @Test
    void runnerIsRegistered() {
        assertTrue(GoldenRunner.standard().supports("text_encoder"));
        assertTrue(GoldenRunner.standard().supports("clip_model"));
        assertEquals(List.of("text_encoder", "clip_model"), new ClipCases().cases());
    }

    @Test
    void configsParseWithDefaultsAndNameTheFileOnErrors(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("config.json");
        Files.writeString(f, "{\"hidden_size\": 64, \"num_attention_heads\": 4}");
        ClipTextConfig c = ClipTextConfig.read(f);
        assertEquals(64, c.hiddenSize());
        assertEquals(49407, c.eosTokenId());
        assertEquals("quick_gelu", c.hiddenAct());
        assertEquals(12, c.numHiddenLayers());

        Files.writeString(f, "{\"hidden_size\": \"wide\"}");
        ClifException e = assertThrows(ClifException.class, () -> ClipTextConfig.read(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("hidden_size"), e.getMessage());

        Files.writeString(f, "{\"hidden_act\": \"tanh\"}");
        e = assertThrows(ClifException.class, () -> ClipTextConfig.read(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("hidden_act"), e.getMessage());

        assertEquals(1024, ClipTextConfig.sd21().hiddenSize());
        assertEquals(23, ClipTextConfig.sd21().numHiddenLayers());
        assertEquals("gelu", ClipTextConfig.sd21().hiddenAct());
        assertEquals(768, ClipTextConfig.sd15().hiddenSize());
        assertEquals(14, ClipConfig.vitL14().vision().patchSize());
    }

    @Test
    void randomModelsRunWithTheirShapes() {
        ClipTextConfig small = new ClipTextConfig(1000, 16, 24, 2, 2, 12, "gelu", 1e-5, 998, 999, 999, 8);
        try (TensorScope scope = TensorScope.open();
             ClipTextEncoder enc = ClipTextEncoder.random(small, 1, Device.CPU, DType.F32)) {
            Tensor ids = Tensor.of(new long[] {998, 5, 7, 999, 999, 998, 3, 999, 999, 999}, 2, 5);
            try (ClipTextEncoder.Output o = enc.forward(ids, null, 0, false)) {
                assertArrayEquals(new long[] {2, 5, 16}, o.lastHiddenState().shape());
                assertArrayEquals(new long[] {2, 16}, o.pooled().shape());
                assertTrue(o.lastHiddenState().allFinite());
            }
            Tensor tooLong = Tensor.zeros(DType.I64, Device.CPU, 1, 13);
            assertThrows(IllegalArgumentException.class, () -> enc.encode(tooLong));
            Tensor badId = Tensor.of(new long[] {1000}, 1, 1);
            ClifException e = assertThrows(ClifException.class, () -> enc.encode(badId));
            assertTrue(e.getMessage().contains("input_ids"), e.getMessage());
        }
    }

    // ---- loader errors name the tensor ----

    /** Copies tiny-sd/text_encoder to {@code dir} with its safetensors rewritten by {@code edit}. */
    private static Path brokenCopy(Path dir, java.util.function.Consumer<java.util.Map<String, float[]>> edit,
                                   String reshapeName, long[] reshapeTo) throws IOException {
        Path src = golden().resolve("tiny-sd/text_encoder");
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        java.util.Map<String, float[]> values = new java.util.TreeMap<>();
        java.util.Map<String, long[]> shapes = new java.util.TreeMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(src.resolve("model.safetensors"))) {
            for (String n : f.names()) {
                if (f.info(n).dtype() != DType.F32) continue; // position_ids buffer: left out
                values.put(n, f.floats(n));
                shapes.put(n, f.info(n).shape());
            }
        }
        edit.accept(values);
        if (reshapeName != null) shapes.put(reshapeName, reshapeTo);
        writeSafetensors(dir.resolve("model.safetensors"), values, shapes);
        return dir;
    }

    /** The format by hand: 8-byte little-endian header length, compact JSON header, raw little-endian data. */
    static void writeSafetensors(Path file, java.util.Map<String, float[]> values, java.util.Map<String, long[]> shapes) throws IOException {
        StringBuilder h = new StringBuilder("{");
        long offset = 0;
        for (var e : values.entrySet()) {
            long[] shape = shapes.get(e.getKey());
            long bytes = e.getValue().length * 4L;
            if (h.length() > 1) h.append(',');
            h.append('"').append(e.getKey()).append("\":{\"dtype\":\"F32\",\"shape\":[");
            for (int i = 0; i < shape.length; i++) h.append(i == 0 ? "" : ",").append(shape[i]);
            h.append("],\"data_offsets\":[").append(offset).append(',').append(offset + bytes).append("]}");
            offset += bytes;
        }
        h.append('}');
        byte[] header = h.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + header.length + (int) offset).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(header.length).put(header);
        for (float[] v : values.values()) for (float x : v) buf.putFloat(x);
        Files.write(file, buf.array());
    }

    @Test
    void missingTensorIsNamed(@TempDir Path dir) throws IOException {
        String name = "text_model.encoder.layers.1.mlp.fc2.bias";
        brokenCopy(dir, v -> v.remove(name), null, null);
        ClifException e = assertThrows(ClifException.class, () -> ClipTextEncoder.load(dir, Device.CPU, DType.F32));
        assertTrue(e.getMessage().contains(name) && e.getMessage().contains("missing"), e.getMessage());
    }

    @Test
    void misShapedTensorIsNamed(@TempDir Path dir) throws IOException {
        String name = "text_model.encoder.layers.0.self_attn.k_proj.weight";
        brokenCopy(dir, v -> {}, name, new long[] {16, 64});
        ClifException e = assertThrows(ClifException.class, () -> ClipTextEncoder.load(dir, Device.CPU, DType.F32));
        assertTrue(e.getMessage().contains(name) && e.getMessage().contains("[16, 64]"), e.getMessage());
    }

    @Test
    void nanWeightIsNamed(@TempDir Path dir) throws IOException {
        String name = "text_model.final_layer_norm.weight";
        brokenCopy(dir, v -> v.get(name)[3] = Float.NaN, null, null);
        ClifException e = assertThrows(ClifException.class, () -> ClipTextEncoder.load(dir, Device.CPU, DType.F32));
        assertTrue(e.getMessage().contains(name) && e.getMessage().contains("non-finite"), e.getMessage());
    }

    @Test
    void pickledCheckpointsAreRefused(@TempDir Path dir) throws IOException {
        Files.copy(golden().resolve("tiny-sd/text_encoder/config.json"), dir.resolve("config.json"));
        Files.write(dir.resolve("pytorch_model.bin"), new byte[] {(byte) 0x80, 2});
        ClifException e = assertThrows(ClifException.class, () -> ClipTextEncoder.load(dir, Device.CPU, DType.F32));
        assertTrue(e.getMessage().contains("safetensors") && e.getMessage().contains("pytorch_model.bin"), e.getMessage());
    }

    // ---- the differentiable preprocessing matches the purge case's bicubic resize + normalise ----

    @Test
    void tensorPreprocessingMatchesThePurgeCase() {
        Path sidecar = golden().resolve("cases/purge_step.json");
        Assertions.assertTrue(Files.exists(sidecar));
        try (GoldenCase c = GoldenCase.open(sidecar); TensorScope scope = TensorScope.open()) {
            float[] m = c.tensors().floats("image_mean"), s = c.tensors().floats("image_std");
            double[] mean = {m[0], m[1], m[2]}, std = {s[0], s[1], s[2]};
            for (String b : List.of("train", "frozen")) {
                Tensor pixels = ClipModel.preprocess(c.tensor("image_" + b), 32, 32, mean, std, false);
                Comparison cmp = Comparison.of("pixel_" + b, pixels, c.tensor("pixel_" + b), c.tolerance("pixel"));
                assertTrue(cmp.pass(), cmp.line("purge_step"));
            }
        }
    }

    // ---- gradients flow through get_image_features down to the pixels (the purge's loss path) ----

    @Test
    void imageFeatureGradientMatchesFiniteDifferences() {
        Path dir = golden().resolve("tiny-clip");
        Assertions.assertTrue(Files.isDirectory(dir));
        try (TensorScope scope = TensorScope.open(); ClipModel clip = ClipModel.load(dir, Device.CPU, DType.F64)) {
            long[] shape = {2, 3, 32, 32};
            double[] base;
            try (Tensor r = Tensor.randn(81, DType.F64, Device.CPU, shape)) {
                base = r.toDoubleArray();
            }
            double[] w;
            try (Tensor r = Tensor.randn(5, DType.F64, Device.CPU, 2, 16)) {
                w = r.toDoubleArray();
            }
            // Autograd: d(sum(features * w)) / d(pixels).
            Tensor pixels = Tensor.of(base.clone(), shape);
            Autograd.setRequiresGrad(pixels, true);
            Tensor features = clip.imageFeatures(pixels, true);
            Autograd.backward(features, Tensor.of(w.clone(), 2, 16));
            double[] grad = Autograd.grad(pixels).toDoubleArray();

            double h = 1e-6;
            int[] coords = {0, 17, 1023, 1500, 3071, 3072 + 555, 6143};
            for (int i : coords) {
                double[] plus = base.clone(), minus = base.clone();
                plus[i] += h;
                minus[i] -= h;
                double fd = (objective(clip, plus, shape, w) - objective(clip, minus, shape, w)) / (2 * h);
                assertEquals(fd, grad[i], 1e-7 + 1e-5 * Math.abs(fd), "d/dpixel[" + i + "]");
            }
            assertTrue(java.util.Arrays.stream(grad).anyMatch(g -> g != 0), "gradient is all zero");
        }
    }

    private static double objective(ClipModel clip, double[] pixels, long[] shape, double[] w) {
        try (Tensor p = Tensor.of(pixels, shape); Tensor f = clip.imageFeatures(p, false)) {
            double[] v = f.toDoubleArray();
            double s = 0;
            for (int i = 0; i < v.length; i++) s += v[i] * w[i];
            return s;
        }
    }
}
