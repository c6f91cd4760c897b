package dev.clif.io;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The single-file layout against diffusers' own conversion (golden root single-file/: sd15-narrow/ and the
 * sd15-narrow.safetensors its script wrote): reading gives the folder's tensors, writing gives the file's.
 */
class SingleFileCheckpointTest {
    private static Path root() {
        return dev.clif.TestData.goldenPath().resolve("single-file");
    }

    /** The entries by name, refusing a name twice (shared with SdxlSingleFileTest). */
    static Map<String, SafetensorsWriter.Entry> byName(List<SafetensorsWriter.Entry> entries) {
        Map<String, SafetensorsWriter.Entry> m = new TreeMap<>();
        for (SafetensorsWriter.Entry e : entries) assertNull(m.put(e.name(), e), "twice: " + e.name());
        return m;
    }

    /** Same names, dtypes, shapes and bytes (shared with SdxlSingleFileTest). */
    static void assertSameTensors(Map<String, SafetensorsWriter.Entry> expected, Map<String, SafetensorsWriter.Entry> actual, String what) {
        assertEquals(expected.keySet(), actual.keySet(), what + ": names");
        for (var e : expected.entrySet()) {
            SafetensorsWriter.Entry a = actual.get(e.getKey());
            assertEquals(e.getValue().dtype(), a.dtype(), what + ": dtype of " + e.getKey());
            assertArrayEquals(e.getValue().shape(), a.shape(), what + ": shape of " + e.getKey());
            assertEquals(-1L, e.getValue().data().mismatch(a.data()), what + ": bytes of " + e.getKey());
        }
    }

    @Test
    void readingTheSingleFileGivesTheFolderTensorsExactly() {
        Path file = root().resolve("sd15-narrow.safetensors");
        org.junit.jupiter.api.Assertions.assertTrue(Files.isRegularFile(file), "no golden data at " + file);
        try (SingleFileCheckpoint ckpt = SingleFileCheckpoint.open(file)) {
            assertEquals(SingleFileCheckpoint.Family.SD1, ckpt.family());
            assertEquals(List.of(), ckpt.skipped());
            int total = 0;
            for (String c : SingleFileCheckpoint.COMPONENTS) {
                try (SafetensorsFile folder = SafetensorsFile.open(root().resolve("sd15-narrow").resolve(c)
                        .resolve(SingleFileCheckpoint.weightFileName(c)))) {
                    assertSameTensors(byName(SafetensorsWriter.entries(folder)), byName(ckpt.component(c)), c);
                    total += folder.names().size();
                }
            }
            assertEquals(684 + 244 + 37, total);
        }
    }

    @Test
    void writingTheFolderGivesTheSingleFileExactly(@TempDir Path tmp) throws Exception {
        Path file = root().resolve("sd15-narrow.safetensors");
        org.junit.jupiter.api.Assertions.assertTrue(Files.isRegularFile(file), "no golden data at " + file);
        List<SafetensorsFile> open = new ArrayList<>();
        try (SafetensorsFile golden = SafetensorsFile.open(file)) {
            List<List<SafetensorsWriter.Entry>> comps = new ArrayList<>();
            for (String c : SingleFileCheckpoint.COMPONENTS) {
                SafetensorsFile f = SafetensorsFile.open(root().resolve("sd15-narrow").resolve(c).resolve(SingleFileCheckpoint.weightFileName(c)));
                open.add(f);
                comps.add(SafetensorsWriter.entries(f));
            }
            List<SafetensorsWriter.Entry> single = SingleFileCheckpoint.toSingleFile(comps.get(0), comps.get(1), comps.get(2));
            assertSameTensors(byName(SafetensorsWriter.entries(golden)), byName(single), "single file");
            Path out = tmp.resolve("out.safetensors");
            SafetensorsWriter.write(out, single, Map.of());
            try (SafetensorsFile written = SafetensorsFile.open(out)) {
                assertSameTensors(byName(SafetensorsWriter.entries(golden)), byName(SafetensorsWriter.entries(written)), "written file");
            }
            // and the same file, byte for byte (header layout included), as the one diffusers' script wrote
            assertArrayEquals(Files.readAllBytes(file), Files.readAllBytes(out));
        } finally {
            for (SafetensorsFile f : open) f.close();
        }
    }

    @Test
    void everyOriginalNameMapsBackToItself() {
        for (String[] p : SingleFileCheckpoint.UNET_LAYER_MAP) {
            String hf = p[1] + "x.weight";
            assertEquals(hf, SingleFileCheckpoint.unetToDiffusers(SingleFileCheckpoint.unetToOriginal(hf)));
        }
        assertEquals("input_blocks.1.0.in_layers.0.weight", SingleFileCheckpoint.unetToOriginal("down_blocks.0.resnets.0.norm1.weight"));
        assertEquals("output_blocks.2.1.conv.weight", SingleFileCheckpoint.unetToOriginal("up_blocks.0.upsamplers.0.conv.weight"));
        assertEquals("decoder.up.3.upsample.conv.weight", SingleFileCheckpoint.vaeToOriginal("decoder.up_blocks.0.upsamplers.0.conv.weight"));
        assertEquals("encoder.mid.attn_1.proj_out.bias", SingleFileCheckpoint.vaeToOriginal("encoder.mid_block.attentions.0.to_out.0.bias"));
        assertEquals("decoder.mid_block.attentions.0.to_out.0.bias", SingleFileCheckpoint.vaeToDiffusers("decoder.mid.attn_1.proj_out.bias"));
        assertEquals("transformer.resblocks.3.ln_1.weight",
                SingleFileCheckpoint.openClipFromDiffusersName("transformer.text_model.encoder.layers.3.layer_norm1.weight"));
        assertEquals("text_model.encoder.layers.3.layer_norm1.weight",
                SingleFileCheckpoint.openClipToDiffusers("transformer.resblocks.3.ln_1.weight"));
        assertEquals("text_model.encoder.layers.3.mlp.fc2.bias", SingleFileCheckpoint.openClipToDiffusers("transformer.resblocks.3.mlp.c_proj.bias"));
    }

    /** SD 2.x: a fused in_proj is read as its q, k and v row blocks, and written back fused, byte for byte. */
    @Test
    void openClipFusedProjectionsRoundTrip(@TempDir Path tmp) {
        int d = 4;
        List<SafetensorsWriter.Entry> text = new ArrayList<>();
        float[] counter = {0};
        java.util.function.Function<long[], float[]> values = shape -> {
            int n = (int) Arrays.stream(shape).reduce(1, (a, b) -> a * b);
            float[] v = new float[n];
            for (int i = 0; i < n; i++) v[i] = counter[0]++;
            return v;
        };
        for (int layer = 0; layer < 23; layer++)
            for (String part : List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "layer_norm1", "mlp.fc1")) {
                String pre = "text_model.encoder.layers." + layer + "." + part;
                long[] w = part.startsWith("layer_norm") ? new long[] {d} : new long[] {d, d};
                text.add(SafetensorsWriter.Entry.of(pre + ".weight", values.apply(w), w));
                text.add(SafetensorsWriter.Entry.of(pre + ".bias", values.apply(new long[] {d}), d));
            }
        text.add(SafetensorsWriter.Entry.of("text_model.encoder.layers.22.layer_norm2.bias", values.apply(new long[] {d}), d));
        text.add(SafetensorsWriter.Entry.of("text_model.embeddings.token_embedding.weight", values.apply(new long[] {10, d}), 10, d));
        text.add(SafetensorsWriter.Entry.of("text_model.final_layer_norm.weight", values.apply(new long[] {d}), d));
        List<SafetensorsWriter.Entry> unet = List.of(SafetensorsWriter.Entry.of("conv_in.weight", values.apply(new long[] {2}), 2));
        List<SafetensorsWriter.Entry> vae = List.of(SafetensorsWriter.Entry.of("decoder.mid_block.attentions.0.to_q.weight",
                values.apply(new long[] {d, d}), d, d));
        List<SafetensorsWriter.Entry> single = SingleFileCheckpoint.toSingleFile(unet, vae, text);
        Map<String, SafetensorsWriter.Entry> s = byName(single);
        assertArrayEquals(new long[] {3 * d, d}, s.get("cond_stage_model.model.transformer.resblocks.5.attn.in_proj_weight").shape());
        assertArrayEquals(new long[] {d, d, 1, 1}, s.get("first_stage_model.decoder.mid.attn_1.q.weight").shape());
        assertTrue(s.containsKey("cond_stage_model.model.ln_final.weight"));
        assertTrue(s.containsKey("cond_stage_model.model.token_embedding.weight"));
        Path file = tmp.resolve("sd2.safetensors");
        SafetensorsWriter.write(file, single, Map.of());
        try (SingleFileCheckpoint back = SingleFileCheckpoint.open(file)) {
            assertEquals(SingleFileCheckpoint.Family.SD2, back.family());
            assertSameTensors(byName(text), byName(back.component("text_encoder")), "text encoder");
            assertSameTensors(byName(vae), byName(back.component("vae")), "vae");
            assertEquals(23, back.textLayers());
        }
    }

    @Test
    void picklesAndOtherFilesAreRefused(@TempDir Path tmp) throws Exception {
        Path ckpt = tmp.resolve("v1-5-pruned.ckpt");
        Files.write(ckpt, new byte[] {(byte) 0x80, 2});
        ClifException e = assertThrows(ClifException.class, () -> SingleFileCheckpoint.open(ckpt));
        assertTrue(e.getMessage().contains("never unpickles") && e.getMessage().contains("v1-5-pruned.safetensors"), e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
        Path other = tmp.resolve("other.safetensors");
        SafetensorsWriter.write(other, List.of(SafetensorsWriter.Entry.of("weight", new float[] {1}, 1)), Map.of());
        e = assertThrows(ClifException.class, () -> SingleFileCheckpoint.open(other));
        assertTrue(e.getMessage().contains("other.safetensors") && e.getMessage().contains("not a Stable Diffusion single-file"), e.getMessage());
        Path xl = tmp.resolve("xl.safetensors");
        SafetensorsWriter.write(xl, List.of(SafetensorsWriter.Entry.of("conditioner.embedders.0.transformer.x", new float[] {1}, 1)), Map.of());
        e = assertThrows(ClifException.class, () -> SingleFileCheckpoint.open(xl));
        assertTrue(e.getMessage().contains("SDXL"), e.getMessage());
    }
}
