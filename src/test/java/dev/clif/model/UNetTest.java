package dev.clif.model;

import dev.clif.TestData;
import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;
import dev.clif.golden.Comparison;
import dev.clif.golden.GoldenRunner;
import dev.clif.io.SafetensorsFile;
import dev.clif.io.SafetensorsWriter;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UNetTest {
    private static final Path GOLDEN = Path.of(TestData.golden());
    private static final Path TINY_UNET = GOLDEN.resolve("tiny-sd/unet");
    private static final String WEIGHTS = "diffusion_pytorch_model.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper();

    private static void assumeGolden() {
        Assertions.assertTrue(Files.isDirectory(TINY_UNET), "golden data not found at " + GOLDEN.toAbsolutePath());
    }

    private static void runCase(String name) {
        assumeGolden();
        List<Comparison> results = GoldenRunner.standard().run(GOLDEN.resolve("cases/" + name + ".json"), Device.CPU);
        assertFalse(results.isEmpty());
        for (Comparison c : results) {
            System.out.println(c.line(name));
            assertTrue(c.pass(), c.line(name));
        }
    }

    @Test
    void goldenForward() {
        runCase("unet_forward");
    }

    @Test
    void goldenBackward() {
        runCase("unet_backward");
    }

    @Test
    void tinyConfigParsesAsDiffusersDoes() {
        assumeGolden();
        UNetConfig c = UNetConfig.read(TINY_UNET.resolve("config.json"));
        assertEquals(List.of(8, 8, 8), c.numAttentionHeads());
        assertEquals(List.of(List.of(1, 1), List.of(1, 1), List.of(1, 1)), c.transformerLayersPerBlock());
        assertEquals(List.of(List.of(1, 1, 1), List.of(1, 1, 1), List.of(1, 1, 1)), c.upTransformerLayersPerBlock());
        assertEquals(128, c.timeEmbedDim());
        try (UNet unet = UNet.create(c)) {
            assertEquals(494, unet.parameterNames().size());
            assertTrue(unet.parameterNames().contains("down_blocks.0.attentions.1.transformer_blocks.0.attn2.to_k.weight"));
        }
    }

    @Test
    void realSdConfigsBuild() {
        UNetConfig v15 = UNetConfig.v1_5();
        assertEquals(List.of(8, 8, 8, 8), v15.numAttentionHeads());
        UNetConfig v21 = UNetConfig.v2_1();
        assertEquals(List.of(5, 10, 20, 20), v21.numAttentionHeads());
        assertTrue(v21.useLinearProjection() && v21.upcastAttention());
        assertEquals(List.of(List.of(1, 1, 1), List.of(1, 1, 1), List.of(1, 1, 1), List.of(1, 1, 1)),
                v21.upTransformerLayersPerBlock());
        assertTrue(v21.toNativeJson().contains("\"num_attention_heads\":20"));
    }

    // ---- broken model folders ---------------------------------------------------------------------------

    /** A copy of tiny-sd/unet whose weights are rewritten by {@code edit} (name -> tensor map). */
    private static Path brokenCopy(Path dir, java.util.function.Consumer<Map<String, Tensor>> edit) throws IOException {
        Files.copy(TINY_UNET.resolve("config.json"), dir.resolve("config.json"));
        try (TensorScope scope = TensorScope.open(); SafetensorsFile f = SafetensorsFile.open(TINY_UNET.resolve(WEIGHTS))) {
            Map<String, Tensor> tensors = new java.util.TreeMap<>();
            for (String n : f.names()) tensors.put(n, f.load(n));
            edit.accept(tensors);
            SafetensorsWriter.writeTensors(dir.resolve(WEIGHTS), tensors, Map.of("format", "pt"));
        }
        return dir;
    }

    private static String loadFailure(Path dir) {
        ClifException e = assertThrows(ClifException.class, () -> UNet.load(dir, Device.CPU, DType.F32).close());
        return e.getMessage();
    }

    @Test
    void misShapedTensorIsNamed(@TempDir Path dir) throws IOException {
        assumeGolden();
        String name = "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight";
        brokenCopy(dir, m -> m.put(name, Tensor.zeros(DType.F32, Device.CPU, 64, 31)));
        String msg = loadFailure(dir);
        assertTrue(msg.contains(name) && msg.contains("[64, 31]"), msg);
    }

    @Test
    void missingTensorIsNamed(@TempDir Path dir) throws IOException {
        assumeGolden();
        String name = "mid_block.resnets.1.conv2.bias";
        brokenCopy(dir, m -> m.remove(name));
        String msg = loadFailure(dir);
        assertTrue(msg.contains("missing") && msg.contains(name), msg);
    }

    @Test
    void unexpectedTensorIsNamed(@TempDir Path dir) throws IOException {
        assumeGolden();
        String name = "up_blocks.0.attentions.0.proj_in.weight";
        brokenCopy(dir, m -> m.put(name, Tensor.zeros(DType.F32, Device.CPU, 64, 64, 1, 1)));
        String msg = loadFailure(dir);
        assertTrue(msg.contains("unexpected") && msg.contains(name), msg);
    }

    @Test
    void pickledWeightsAreRefused(@TempDir Path dir) throws IOException {
        assumeGolden();
        Files.copy(TINY_UNET.resolve("config.json"), dir.resolve("config.json"));
        Files.write(dir.resolve("diffusion_pytorch_model.bin"), new byte[] {(byte) 0x80, 2});
        String msg = loadFailure(dir);
        assertTrue(msg.contains("safetensors") && msg.contains("pickle"), msg);
    }

    private static ObjectNode tinyConfig() throws IOException {
        return (ObjectNode) JSON.readTree(TINY_UNET.resolve("config.json").toFile());
    }

    private static String configFailure(Path dir, ObjectNode config) throws IOException {
        Path file = dir.resolve("config.json");
        Files.writeString(file, config.toString());
        ClifException e = assertThrows(ClifException.class, () -> UNetConfig.read(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        return e.getMessage();
    }

    @Test
    void unsupportedConfigsAreRefusedNamingTheField(@TempDir Path dir) throws IOException {
        assumeGolden();
        String msg = configFailure(dir, tinyConfig().put("dual_cross_attention", true));
        assertTrue(msg.contains("dual_cross_attention"), msg);
        msg = configFailure(dir, tinyConfig().put("resnet_time_scale_shift", "scale_shift"));
        assertTrue(msg.contains("resnet_time_scale_shift") && msg.contains("scale_shift"), msg);
        msg = configFailure(dir, tinyConfig().put("class_embed_type", "timestep"));
        assertTrue(msg.contains("class_embed_type"), msg);
        msg = configFailure(dir, tinyConfig().put("time_embedding_type", "fourier"));
        assertTrue(msg.contains("time_embedding_type"), msg);
        msg = configFailure(dir, tinyConfig().put("attention_head_dim", 5));
        assertTrue(msg.contains("attention heads"), msg);
        // the whole folder: UNet.load reports the same
        Files.writeString(dir.resolve("config.json"), tinyConfig().put("dual_cross_attention", true).toString());
        Files.copy(TINY_UNET.resolve(WEIGHTS), dir.resolve(WEIGHTS));
        msg = loadFailure(dir);
        assertTrue(msg.contains("dual_cross_attention"), msg);
    }

    @Test
    void holdoutStyleConfigBuildsAndRuns() throws IOException {
        ObjectNode c = (ObjectNode) JSON.readTree("""
                {"_class_name": "UNet2DConditionModel", "act_fn": "silu", "attention_head_dim": [2, 4, 4],
                 "block_out_channels": [32, 64, 64], "cross_attention_dim": 32,
                 "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
                 "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
                 "in_channels": 4, "out_channels": 4, "layers_per_block": 2, "norm_num_groups": 32,
                 "sample_size": 16, "use_linear_projection": true, "upcast_attention": true}
                """);
        UNetConfig config = UNetConfig.fromJson(c, "holdout");
        assertEquals(List.of(2, 4, 4), config.numAttentionHeads());
        try (TensorScope scope = TensorScope.open(); UNet unet = UNet.random(config, 7, Device.CPU, DType.F32)) {
            List<String> names = unet.parameterNames();
            // linear projections: proj_in is [C, C], not [C, C, 1, 1]
            try (Tensor p = unet.parameter("down_blocks.1.attentions.0.proj_in.weight")) {
                assertArrayEquals(new long[] {64, 64}, p.shape());
            }
            assertTrue(names.contains("mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight"));
            Tensor x = Tensor.randn(1, DType.F32, Device.CPU, 2, 4, 16, 16);
            Tensor ehs = Tensor.randn(2, DType.F32, Device.CPU, 2, 7, 32);
            Tensor y = unet.forward(x, Tensor.of(new long[] {10}), ehs, false);
            assertArrayEquals(new long[] {2, 4, 16, 16}, y.shape());
            assertTrue(y.allFinite());
            // sizes not divisible by 4: the upsamplers follow the skip sizes, as diffusers' forward_upsample_size
            Tensor odd = Tensor.randn(3, DType.F32, Device.CPU, 2, 4, 13, 10);
            assertArrayEquals(new long[] {2, 4, 13, 10}, unet.forward(odd, Tensor.of(new long[] {3, 4}, 2), ehs, false).shape());
        }
    }

    /** The fused float32 inference attention equals the autograd (ATen) path it stands in for. */
    @Test
    void inferenceKernelMatchesTheAutogradPath() {
        UNetConfig config = UNetConfig.parse("""
                {"attention_head_dim": [2, 4, 4], "block_out_channels": [32, 64, 64], "cross_attention_dim": 24,
                 "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
                 "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
                 "layers_per_block": 1, "use_linear_projection": true, "only_cross_attention": [true, false, false]}
                """, "test");
        try (TensorScope scope = TensorScope.open(); UNet unet = UNet.random(config, 3, Device.CPU, DType.F32)) {
            Tensor x = Tensor.randn(1, DType.F32, Device.CPU, 2, 4, 12, 12);
            Tensor ehs = Tensor.randn(2, DType.F32, Device.CPU, 2, 13, 24);
            Tensor t = Tensor.of(new float[] {0.5f, 900.25f}, 2);
            Tensor fast = unet.forward(x, t, ehs, false);
            Autograd.setRequiresGrad(ehs, true);
            Tensor reference = unet.forward(x, t, ehs, true);
            assertTrue(fast.maxAbsDiff(reference) < 1e-5, "max diff " + fast.maxAbsDiff(reference));
        }
    }

    @Test
    void wrongInputsFailClearly() {
        assumeGolden();
        try (TensorScope scope = TensorScope.open(); UNet unet = UNet.load(TINY_UNET, Device.CPU, DType.F32)) {
            Tensor x = Tensor.randn(1, DType.F32, Device.CPU, 2, 4, 16, 16);
            Tensor badEhs = Tensor.randn(2, DType.F32, Device.CPU, 2, 77, 16);
            Exception e = assertThrows(ClifException.class, () -> unet.forward(x, Tensor.of(new long[] {1}), badEhs, false));
            assertTrue(e.getMessage().contains("cross_attention_dim"), e.getMessage());
            Tensor y = unet.forward(x, Tensor.of(new long[] {1}), Tensor.randn(3, DType.F32, Device.CPU, 2, 77, 32), false);
            e = assertThrows(ClifException.class, () -> Autograd.backward(y, y));
            assertTrue(e.getMessage().contains("require grad"), e.getMessage());
            e = assertThrows(ClifException.class, () -> Autograd.grad(x));
            assertTrue(e.getMessage().contains("gradient"), e.getMessage());
        }
    }

    /** d loss / d W for one attn2.to_k weight entry: autograd vs a float64 central finite difference. */
    @Test
    void finiteDifferenceOfCrossAttentionKeyGradient() {
        assumeGolden();
        String name = "up_blocks.1.attentions.2.transformer_blocks.0.attn2.to_k.weight";
        try (TensorScope scope = TensorScope.open(); UNet unet = UNet.load(TINY_UNET, Device.CPU, DType.F32)) {
            unet.to(Device.CPU, DType.F64);
            Tensor x = Tensor.randn(11, DType.F64, Device.CPU, 1, 4, 8, 8);
            Tensor ehs = Tensor.randn(12, DType.F64, Device.CPU, 1, 5, 32);
            Tensor w = Tensor.randn(13, DType.F64, Device.CPU, 1, 4, 8, 8);
            Tensor t = Tensor.of(new long[] {700});
            unet.setRequiresGrad(name, true);
            Tensor y = unet.forward(x, t, ehs, true);
            Autograd.backward(y, w);
            double[] grad = unet.gradient(name).toDoubleArray();
            double[] weights = w.toDoubleArray();
            double[] p0 = unet.parameter(name).toDoubleArray();
            long[] shape = {64, 32};
            double h = 1e-6;
            int[] entries = {0, 5 * 32 + 7, 63 * 32 + 31, 1000};
            for (int k : entries) {
                double[] plus = p0.clone(), minus = p0.clone();
                plus[k] += h;
                minus[k] -= h;
                unet.setParameter(name, Tensor.of(plus, shape));
                double lp = dot(unet.forward(x, t, ehs, false).toDoubleArray(), weights);
                unet.setParameter(name, Tensor.of(minus, shape));
                double lm = dot(unet.forward(x, t, ehs, false).toDoubleArray(), weights);
                double fd = (lp - lm) / (2 * h);
                assertEquals(fd, grad[k], 1e-6 * Math.max(1, Math.abs(fd)), "entry " + k + ": fd " + fd + " vs autograd " + grad[k]);
            }
            unet.setParameter(name, Tensor.of(p0, shape));
        }
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    /** Gradient checkpointing recomputes in backward: same gradients, parameters included. */
    @Test
    void gradientCheckpointingGivesTheSameGradients() {
        assumeGolden();
        String[] params = {"down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight",
                "down_blocks.0.resnets.0.conv1.weight", "time_embedding.linear_1.weight", "conv_out.bias"};
        List<double[]> reference = new ArrayList<>();
        for (boolean ckpt : new boolean[] {false, true}) {
            try (TensorScope scope = TensorScope.open(); UNet unet = UNet.load(TINY_UNET, Device.CPU, DType.F64)) {
                unet.setGradientCheckpointing(ckpt);
                for (String p : params) unet.setRequiresGrad(p, true);
                Tensor x = Tensor.randn(11, DType.F64, Device.CPU, 2, 4, 8, 8);
                Tensor ehs = Tensor.randn(12, DType.F64, Device.CPU, 2, 5, 32);
                Autograd.setRequiresGrad(ehs, true);
                Tensor w = Tensor.randn(13, DType.F64, Device.CPU, 2, 4, 8, 8);
                Tensor y = unet.forward(x, Tensor.of(new long[] {999, 20}, 2), ehs, true);
                Autograd.backward(y, w);
                List<double[]> grads = new ArrayList<>();
                for (String p : params) grads.add(unet.gradient(p).toDoubleArray());
                grads.add(Autograd.grad(ehs).toDoubleArray());
                if (!ckpt) reference.addAll(grads);
                else
                    for (int i = 0; i < grads.size(); i++)
                        assertArrayEquals(reference.get(i), grads.get(i), 1e-10, i < params.length ? params[i] : "ehs");
            }
        }
    }
}
