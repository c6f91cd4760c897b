package dev.clif.io;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.TestData;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SDXL in the single-file layout (no golden SDXL file exists): tiny-sdxl's folder written as one file and read back
 * gives every tensor byte for byte, names follow diffusers v0.25.1's convert_diffusers_to_original_sdxl.py (checked on
 * real SDXL base names), and Stability's transposed {@code text_projection} reads as diffusers' Linear weight.
 */
class SdxlSingleFileTest {
    static Path tinySdxl() {
        Path p = TestData.goldenPath().resolve("sdxl/tiny-sdxl");
        assertTrue(Files.isDirectory(p), "golden tiny-sdxl not present: " + p);
        return p;
    }

    @Test
    void tinySdxlFolderToFileAndBackIsExact(@TempDir Path tmp) throws Exception {
        List<SafetensorsFile> open = new ArrayList<>();
        try {
            Map<String, List<SafetensorsWriter.Entry>> folder = new TreeMap<>();
            for (String c : SingleFileCheckpoint.XL_COMPONENTS) {
                SafetensorsFile f = SafetensorsFile.open(tinySdxl().resolve(c).resolve(SingleFileCheckpoint.weightFileName(c)));
                open.add(f);
                folder.put(c, SafetensorsWriter.entries(f));
            }
            List<SafetensorsWriter.Entry> single = SingleFileCheckpoint.toSingleFile(folder.get("unet"), folder.get("vae"),
                    folder.get("text_encoder"), folder.get("text_encoder_2"));
            // 428 + 124 + 52 tensors as they are; text_encoder_2's 53 lose 2 of every 3 layers' 6 q/k/v tensors to fusion
            assertEquals(428 + 124 + 52 + 53 - 3 * 4, single.size());
            for (SafetensorsWriter.Entry e : single)
                assertTrue(e.name().startsWith("model.diffusion_model.") || e.name().startsWith("first_stage_model.")
                        || e.name().startsWith("conditioner.embedders.0.transformer.text_model.")
                        || e.name().startsWith("conditioner.embedders.1.model."), e.name());
            Map<String, SafetensorsWriter.Entry> s = SingleFileCheckpointTest.byName(single);
            for (String n : List.of("model.diffusion_model.label_emb.0.0.weight", "model.diffusion_model.label_emb.0.2.bias",
                    "model.diffusion_model.output_blocks.2.2.conv.weight", "model.diffusion_model.input_blocks.3.0.op.weight",
                    "model.diffusion_model.input_blocks.5.1.transformer_blocks.1.attn2.to_k.weight",
                    "conditioner.embedders.1.model.transformer.resblocks.2.attn.in_proj_weight",
                    "conditioner.embedders.1.model.text_projection.weight", "conditioner.embedders.1.model.ln_final.weight",
                    "conditioner.embedders.1.model.positional_embedding"))
                assertTrue(s.containsKey(n), n);
            Path file = tmp.resolve("tiny-sdxl.safetensors");
            SafetensorsWriter.write(file, single, Map.of());
            try (SingleFileCheckpoint back = SingleFileCheckpoint.open(file)) {
                assertEquals(SingleFileCheckpoint.Family.XL, back.family());
                assertEquals(SingleFileCheckpoint.XL_COMPONENTS, back.components());
                assertEquals(List.of(), back.skipped());
                for (String c : SingleFileCheckpoint.XL_COMPONENTS) SingleFileCheckpointTest.assertSameTensors(SingleFileCheckpointTest.byName(folder.get(c)), SingleFileCheckpointTest.byName(back.component(c)), c);
                Path again = tmp.resolve("again.safetensors");
                SafetensorsWriter.write(again, SingleFileCheckpoint.toSingleFile(back.component("unet"), back.component("vae"),
                        back.component("text_encoder"), back.component("text_encoder_2")), Map.of());
                assertEquals(-1L, Files.mismatch(file, again), "folder -> file -> folder -> file is byte for byte");
            }
        } finally {
            for (SafetensorsFile f : open) f.close();
        }
    }

    @Test
    void realSdxlBaseNamesMapAsTheConversionScriptMapsThem() {
        Map<String, String> names = Map.ofEntries( // original (without model.diffusion_model.) -> diffusers
                Map.entry("label_emb.0.0.weight", "add_embedding.linear_1.weight"),
                Map.entry("label_emb.0.2.bias", "add_embedding.linear_2.bias"),
                Map.entry("input_blocks.1.0.in_layers.0.weight", "down_blocks.0.resnets.0.norm1.weight"),
                Map.entry("input_blocks.3.0.op.weight", "down_blocks.0.downsamplers.0.conv.weight"),
                Map.entry("input_blocks.4.1.transformer_blocks.1.attn2.to_k.weight", "down_blocks.1.attentions.0.transformer_blocks.1.attn2.to_k.weight"),
                Map.entry("input_blocks.4.0.skip_connection.weight", "down_blocks.1.resnets.0.conv_shortcut.weight"),
                Map.entry("input_blocks.6.0.op.bias", "down_blocks.1.downsamplers.0.conv.bias"),
                Map.entry("input_blocks.8.1.transformer_blocks.9.ff.net.2.weight", "down_blocks.2.attentions.1.transformer_blocks.9.ff.net.2.weight"),
                Map.entry("middle_block.1.transformer_blocks.9.attn1.to_q.weight", "mid_block.attentions.0.transformer_blocks.9.attn1.to_q.weight"),
                Map.entry("middle_block.2.emb_layers.1.weight", "mid_block.resnets.1.time_emb_proj.weight"),
                Map.entry("output_blocks.0.0.out_layers.3.weight", "up_blocks.0.resnets.0.conv2.weight"),
                Map.entry("output_blocks.2.1.proj_out.weight", "up_blocks.0.attentions.2.proj_out.weight"),
                Map.entry("output_blocks.2.2.conv.weight", "up_blocks.0.upsamplers.0.conv.weight"),
                Map.entry("output_blocks.3.0.in_layers.2.weight", "up_blocks.1.resnets.0.conv1.weight"),
                Map.entry("output_blocks.5.2.conv.bias", "up_blocks.1.upsamplers.0.conv.bias"),
                Map.entry("output_blocks.8.0.skip_connection.weight", "up_blocks.2.resnets.2.conv_shortcut.weight"),
                Map.entry("out.2.weight", "conv_out.weight"),
                Map.entry("time_embed.2.bias", "time_embedding.linear_2.bias"));
        for (var e : names.entrySet()) {
            assertEquals(e.getValue(), SingleFileCheckpoint.unetToDiffusers(e.getKey(), SingleFileCheckpoint.Family.XL), e.getKey());
            assertEquals(e.getKey(), SingleFileCheckpoint.unetToOriginal(e.getValue(), SingleFileCheckpoint.Family.XL), e.getValue());
        }
        // the SD 1.x map is not the SDXL one: there, output_blocks.2.2 does not exist and label_emb is no name
        assertEquals("output_blocks.2.1.conv.weight", SingleFileCheckpoint.unetToOriginal("up_blocks.0.upsamplers.0.conv.weight"));
    }

    @Test
    void stabilitysTransposedTextProjectionReadsAsTheLinearWeight(@TempDir Path tmp) throws Exception {
        Path written = tmp.resolve("diffusers-script.safetensors");
        List<SafetensorsFile> open = new ArrayList<>();
        try {
            List<List<SafetensorsWriter.Entry>> comps = new ArrayList<>();
            for (String c : SingleFileCheckpoint.XL_COMPONENTS) {
                SafetensorsFile f = SafetensorsFile.open(tinySdxl().resolve(c).resolve(SingleFileCheckpoint.weightFileName(c)));
                open.add(f);
                comps.add(SafetensorsWriter.entries(f));
            }
            List<SafetensorsWriter.Entry> single = new ArrayList<>();
            SafetensorsWriter.Entry projection = null;
            for (SafetensorsWriter.Entry e : SingleFileCheckpoint.toSingleFile(comps.get(0), comps.get(1), comps.get(2), comps.get(3))) {
                if (!e.name().equals("conditioner.embedders.1.model.text_projection.weight")) {
                    single.add(e);
                    continue;
                }
                projection = e;
                long r = e.shape()[0], c = e.shape()[1];
                float[] w = e.data().toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
                float[] t = new float[w.length];
                for (int i = 0; i < r; i++) for (int j = 0; j < c; j++) t[(int) (j * r + i)] = w[(int) (i * c + j)];
                single.add(SafetensorsWriter.Entry.of("conditioner.embedders.1.model.text_projection", t, c, r));
                single.add(SafetensorsWriter.Entry.of("conditioner.embedders.1.model.logit_scale", new float[] {4.6f}));
            }
            assertNotNull(projection);
            Path stability = tmp.resolve("stability.safetensors");
            SafetensorsWriter.write(stability, single, Map.of());
            try (SingleFileCheckpoint ckpt = SingleFileCheckpoint.open(stability)) {
                SafetensorsWriter.Entry read = SingleFileCheckpointTest.byName(ckpt.component("text_encoder_2")).get("text_projection.weight");
                assertArrayEquals(projection.shape(), read.shape());
                assertEquals(-1L, projection.data().mismatch(read.data()), "the transpose of Stability's x @ P is diffusers' weight");
                assertEquals(List.of("conditioner.embedders.1.model.logit_scale"), ckpt.skipped());
            }
        } finally {
            for (SafetensorsFile f : open) f.close();
        }
        assertFalse(Files.exists(written));
    }
}
