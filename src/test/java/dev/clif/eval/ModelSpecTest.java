package dev.clif.eval;

import dev.clif.TestData;
import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;
import dev.clif.sampling.ImageBytes;
import dev.clif.io.SafetensorsFile;
import dev.clif.io.SafetensorsWriter;
import dev.clif.sampling.StableDiffusion;
import dev.clif.purge.PurgedModel;
import dev.clif.sampling.Txt2Img;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelSpecTest {
    static final Path GOLDEN = Path.of(TestData.golden());
    static final String KEY = "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight";

    @BeforeEach
    void golden() {
        Assertions.assertTrue(Files.isDirectory(GOLDEN.resolve("tiny-sd")), "golden tiny models not found");
    }

    @Test
    void specsNameAFolderTheShippedModelADeltaAndOptions(@TempDir Path tmp) throws Exception {
        ModelSpec shapes = ModelSpec.parse("base=shapes");
        assertEquals("base", shapes.name());
        assertTrue(Files.isDirectory(shapes.base().resolve("unet")), "shapes is the shipped model");
        assertNull(shapes.delta());
        ModelSpec neg = ModelSpec.parse("neg=shapes;negative=a red circle, a red square");
        assertEquals("a red circle, a red square", neg.negativePrompt());
        ModelSpec sld = ModelSpec.parse("sld=shapes;sld=Medium;sld-concept=red;sld-warmup=3");
        assertEquals(new dev.clif.sampling.SafeLatentDiffusion(3, 1000, 0.01, 0.3, 0.4, "red"), sld.sld());
        assertNull(sld.negativePrompt());
        assertEquals(3, ((Map<?, ?>) sld.fingerprint().get("sld")).get("sld_warmup_steps"));
        assertNull(shapes.sld());
        Path delta = writeDelta(tmp, GOLDEN.resolve("tiny-sd"), Map.of(KEY, 0.05f));
        ModelSpec purged = ModelSpec.parse("p=" + GOLDEN.resolve("tiny-sd") + "+" + delta);
        assertEquals(delta, purged.delta());
        assertEquals(GOLDEN.resolve("tiny-sd"), purged.base());
        assertEquals(64, ((String) purged.fingerprint().get("delta_sha256")).length());

        for (String[] bad : new String[][] {
                {"shapes", "NAME=SPEC"}, {"=shapes", "NAME=SPEC"}, {"a b=shapes", "must be letters"},
                {"x=shapes;sdl=strong", "unknown option 'sdl=strong'"},
                {"x=shapes;sld=extreme", "unknown SLD preset 'extreme'"}, {"x=shapes;sld-concept=red", "need sld=PRESET"},
                {"x=shapes;sld=max;sld-beta=2", "momentum beta must lie in [0, 1]"}, {"x=shapes;sld=max;sld-scale=a", "not a number"}, {"x=shapes+" + tmp.resolve("none.safetensors"), "no such delta file"},
                {"x=" + tmp.resolve("nowhere"), "not a folder"}}) {
            ClifException e = assertThrows(ClifException.class, () -> ModelSpec.parse(bad[0]), bad[0]);
            assertTrue(e.getMessage().contains(bad[1]), e.getMessage());
        }
    }

    @Test
    void aDeltaAppliedInMemoryDrawsWhatTheRebuiltFolderDraws(@TempDir Path tmp) throws Exception {
        Path base = GOLDEN.resolve("tiny-sd");
        Path delta = writeDelta(tmp, base, Map.of(KEY, 0.05f));
        Path folder = tmp.resolve("purged");
        PurgedModel.applyDelta(base, delta, folder);
        byte[] fromMemory, fromFolder, fromBase;
        try (StableDiffusion sd = ModelSpec.parse("m=" + base + "+" + delta).load(Device.CPU, DType.F32)) {
            try (Tensor p = sd.unet().parameter(KEY); SafetensorsFile f = SafetensorsFile.open(delta)) {
                assertArrayEquals(f.floats(KEY), p.toFloatArray(), "the delta's tensor is in the UNet");
            }
            fromMemory = draw(sd);
        }
        try (StableDiffusion sd = StableDiffusion.load(folder, Device.CPU, DType.F32)) {
            fromFolder = draw(sd);
        }
        try (StableDiffusion sd = StableDiffusion.load(base, Device.CPU, DType.F32)) {
            fromBase = draw(sd);
        }
        assertArrayEquals(fromFolder, fromMemory);
        assertFalse(java.util.Arrays.equals(fromBase, fromMemory), "the delta changes the picture");
    }

    @Test
    void aDeltaForAnotherBaseOrWithUnknownTensorsIsRefused(@TempDir Path tmp) throws Exception {
        Path base = GOLDEN.resolve("tiny-sd");
        Path delta = writeDelta(tmp, base, Map.of(KEY, 0.05f));
        ClifException other = assertThrows(ClifException.class, () -> ModelSpec.parse("m=shapes+" + delta).load(Device.CPU, DType.F32));
        assertTrue(other.getMessage().contains("was made for another base model"), other.getMessage());
        Path unknown = tmp.resolve("unknown.safetensors");
        SafetensorsWriter.write(unknown, List.of(SafetensorsWriter.Entry.of("no.such.weight", new float[] {1}, 1)),
                Map.of("format", PurgedModel.DELTA_FORMAT, "base_unet_sha256", PurgedModel.fingerprint(base)));
        ClifException e = assertThrows(ClifException.class, () -> ModelSpec.parse("m=" + base + "+" + unknown).load(Device.CPU, DType.F32));
        assertTrue(e.getMessage().contains("'no.such.weight' is not a parameter"), e.getMessage());
        Path nan = writeDelta(tmp, base, Map.of(KEY, Float.NaN));
        e = assertThrows(ClifException.class, () -> ModelSpec.parse("m=" + base + "+" + nan).load(Device.CPU, DType.F32));
        assertTrue(e.getMessage().contains(KEY) && e.getMessage().contains("non-finite"), e.getMessage());
    }

    /** A delta holding the base's tensors plus {@code add} (element-wise), tied to the base's fingerprint. */
    static Path writeDelta(Path dir, Path base, Map<String, Float> add) {
        Path out = dir.resolve("delta-" + add.values().iterator().next() + ".safetensors");
        try (SafetensorsFile unet = SafetensorsFile.open(base.resolve("unet/diffusion_pytorch_model.safetensors"))) {
            List<SafetensorsWriter.Entry> entries = new java.util.ArrayList<>();
            for (Map.Entry<String, Float> e : add.entrySet()) {
                float[] v = unet.floats(e.getKey());
                for (int i = 0; i < v.length; i++) v[i] += e.getValue();
                entries.add(SafetensorsWriter.Entry.of(e.getKey(), v, unet.info(e.getKey()).shape()));
            }
            SafetensorsWriter.write(out, entries, Map.of("format", PurgedModel.DELTA_FORMAT, "base_unet_sha256", PurgedModel.fingerprint(base)));
        }
        return out;
    }

    static byte[] draw(StableDiffusion sd) {
        try (Txt2Img.Result r = new Txt2Img(sd).generate(Txt2Img.Request.of("a red car", 3, 5, 32), null)) {
            return ImageBytes.toUint8Hwc(r.images())[0];
        }
    }
}
