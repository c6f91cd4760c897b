package dev.clif.model;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;
import dev.clif.golden.GoldenRunner;
import dev.clif.io.SafetensorsFile;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VaeTest {
    @Test
    void vaeGoldenCase() {
        ClipTest.assertCasePasses("vae");
    }

    @Test
    void legacyAttentionKeysGoldenCase() {
        ClipTest.assertCasePasses("vae_legacy_attention_keys");
    }

    @Test
    void runnersAreRegistered() {
        assertTrue(GoldenRunner.standard().supports("vae"));
        assertTrue(GoldenRunner.standard().supports("vae_legacy_attention_keys"));
    }

    @Test
    void legacyNamesAreRenamed() {
        assertEquals("decoder.mid_block.attentions.0.to_out.0.weight", Vae.modernName("decoder.mid_block.attentions.0.proj_attn.weight"));
        assertEquals("encoder.mid_block.attentions.0.to_q.bias", Vae.modernName("encoder.mid_block.attentions.0.query.bias"));
        assertEquals("decoder.conv_in.weight", Vae.modernName("decoder.conv_in.weight"));
    }

    @Test
    void configDefaultsAndErrors(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("config.json");
        Files.writeString(f, "{\"_class_name\": \"AutoencoderKL\"}");
        VaeConfig c = VaeConfig.read(f);
        assertEquals(List.of(64), c.blockOutChannels());
        assertEquals(0.18215, c.scalingFactor());
        assertTrue(c.midBlockAddAttention());
        Files.writeString(f, "{\"block_out_channels\": [32, 64], \"down_block_types\": [\"DownEncoderBlock2D\"]}");
        ClifException e = assertThrows(ClifException.class, () -> VaeConfig.read(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("down_block_types"), e.getMessage());
        Files.writeString(f, "{\"layers_per_block\": 1.5}");
        e = assertThrows(ClifException.class, () -> VaeConfig.read(f));
        assertTrue(e.getMessage().contains("layers_per_block"), e.getMessage());
        assertEquals(8, VaeConfig.sd().downscaleFactor());
    }

    @Test
    void randomVaeRoundTripsShapes() {
        VaeConfig small = new VaeConfig(3, 3, List.of("DownEncoderBlock2D", "DownEncoderBlock2D"),
                List.of("UpDecoderBlock2D", "UpDecoderBlock2D"), List.of(32, 32), 1, "silu", 4, 32, 16, 0.5, false, true, true);
        try (TensorScope scope = TensorScope.open(); Vae vae = Vae.random(small, 7, Device.CPU, DType.F32)) {
            assertTrue(vae.parameterNames().stream().noneMatch(n -> n.contains("attentions")));
            Tensor x = Tensor.randn(1, DType.F32, Device.CPU, 2, 3, 16, 16);
            try (Vae.Posterior p = vae.encode(x, false)) {
                assertArrayEquals(new long[] {2, 4, 8, 8}, p.mean().shape());
                assertArrayEquals(new long[] {2, 3, 16, 16}, vae.decode(p.mean(), false).shape());
            }
            assertThrows(IllegalArgumentException.class, () -> vae.encode(Tensor.zeros(DType.F32, Device.CPU, 1, 3, 15, 16), false));
        }
    }

    // ---- loader errors name the tensor ----

    private static Path brokenCopy(Path dir, Consumer<Map<String, float[]>> edit, String reshapeName, long[] reshapeTo) throws IOException {
        Path src = ClipTest.golden().resolve("tiny-sd/vae");
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        Map<String, float[]> values = new TreeMap<>();
        Map<String, long[]> shapes = new TreeMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(src.resolve("diffusion_pytorch_model.safetensors"))) {
            for (String n : f.names()) {
                values.put(n, f.floats(n));
                shapes.put(n, f.info(n).shape());
            }
        }
        edit.accept(values);
        if (reshapeName != null) shapes.put(reshapeName, reshapeTo);
        ClipTest.writeSafetensors(dir.resolve("diffusion_pytorch_model.safetensors"), values, shapes);
        return dir;
    }

    @Test
    void missingTensorIsNamed(@TempDir Path dir) throws IOException {
        String name = "decoder.up_blocks.1.resnets.1.conv2.weight";
        brokenCopy(dir, v -> v.remove(name), null, null);
        ClifException e = assertThrows(ClifException.class, () -> Vae.load(dir, Device.CPU, DType.F32));
        assertTrue(e.getMessage().contains(name) && e.getMessage().contains("missing"), e.getMessage());
    }

    @Test
    void misShapedTensorIsNamed(@TempDir Path dir) throws IOException {
        String name = "quant_conv.weight";
        brokenCopy(dir, v -> {}, name, new long[] {8, 8, 1, 1, 1});
        ClifException e = assertThrows(ClifException.class, () -> Vae.load(dir, Device.CPU, DType.F32));
        assertTrue(e.getMessage().contains(name) && e.getMessage().contains("[8, 8, 1, 1, 1]"), e.getMessage());
    }

    @Test
    void nanWeightIsNamed(@TempDir Path dir) throws IOException {
        String name = "decoder.mid_block.attentions.0.to_v.weight";
        brokenCopy(dir, v -> v.get(name)[17] = Float.NaN, null, null);
        ClifException e = assertThrows(ClifException.class, () -> Vae.load(dir, Device.CPU, DType.F32));
        assertTrue(e.getMessage().contains(name) && e.getMessage().contains("non-finite"), e.getMessage());
    }

    @Test
    void legacyAndNewNameTogetherAreRejected(@TempDir Path dir) throws IOException {
        brokenCopy(dir, v -> v.put("decoder.mid_block.attentions.0.query.bias", v.get("decoder.mid_block.attentions.0.to_q.bias")),
                "decoder.mid_block.attentions.0.query.bias", new long[] {64});
        ClifException e = assertThrows(ClifException.class, () -> Vae.load(dir, Device.CPU, DType.F32));
        assertTrue(e.getMessage().contains("decoder.mid_block.attentions.0.query.bias"), e.getMessage());
    }
}
