package dev.clif.serve;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.TestData;
import dev.clif.cli.CliRun;
import dev.clif.io.SafetensorsFile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SDXL through the whole tool on tiny-sdxl (golden root {@code sdxl/}): a CLIF purge trains the keys and values of
 * every transformer block's cross-attention (two per attention here), `clif eval` judges the base and base+delta,
 * and `clif serve` answers an OpenAI images request for the purged variant with the bytes `clif generate` makes from
 * the folder `apply-delta` writes.
 */
class SdxlEndToEndTest {
    @TempDir
    Path tmp;

    static Path tinySdxl() {
        Path p = TestData.goldenPath().resolve("sdxl/tiny-sdxl");
        assertTrue(Files.isDirectory(p), "golden tiny-sdxl not present: " + p);
        return p;
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void purgeEvalAndServeRunOnTinySdxl() throws Exception {
        Path sdxl = tinySdxl();
        Path clip = TestData.goldenPath().resolve("tiny-clip");
        Path purged = tmp.resolve("purge");
        CliRun p = CliRun.of("purge", "--model", sdxl.toString(), "--clip", clip.toString(), "--concept", "a red car=>a blue car",
                "--steps", "3", "--lr", "1e-3", "--seed", "1", "--out", purged.toString());
        assertEquals(0, p.exit(), p.err());
        Path delta = purged.resolve("delta.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(delta)) {
            List<String> names = f.names().stream().sorted().toList();
            // 2 down attentions, 1 mid, 3 up, each with transformer_layers 2 (the down block 1 and its mirror): 12 blocks
            assertEquals(24, names.size(), names.toString());
            assertTrue(names.stream().allMatch(n -> n.matches(".*\\.attn2\\.to_[kv]\\.weight")), names.toString());
            assertTrue(names.contains("up_blocks.0.attentions.2.transformer_blocks.1.attn2.to_v.weight"), names.toString());
            assertTrue(names.contains("mid_block.attentions.0.transformer_blocks.1.attn2.to_k.weight"), names.toString());
        }
        JsonNode report = new ObjectMapper().readTree(purged.resolve("purge-report.json").toFile());
        assertEquals(3, report.path("steps").size(), report.toString());
        for (JsonNode s : report.path("steps")) assertTrue(Double.isFinite(s.path("loss").asDouble(Double.NaN)), s.toString());
        // the purged folder is whole: both tokenizers are real folders (the link files are materialised)
        assertTrue(Files.isRegularFile(purged.resolve("model/tokenizer_2/vocab.json")));

        Path prompts = tmp.resolve("prompts.csv");
        Files.writeString(prompts, "prompt,category\na red car,red\na blue car,blue\n");
        Path eval = tmp.resolve("eval");
        CliRun e = CliRun.of("eval", "--prompts", prompts.toString(), "--model", "base=" + sdxl, "--model", "clif=" + sdxl + "+" + delta,
                "--scorer", "shapes-colour=red", "--images-per-prompt", "1", "--steps", "3", "--no-report", "--out", eval.toString());
        assertEquals(0, e.exit(), e.err());
        List<String> records = Files.readAllLines(eval.resolve("results.jsonl"));
        assertEquals(4, records.size(), records.toString());
        // the manifest's fingerprint covers both text encoders
        JsonNode manifest = new ObjectMapper().readTree(eval.resolve("manifest.json").toFile());
        List<Path> weights = List.of(sdxl.resolve("text_encoder/model.safetensors"), sdxl.resolve("text_encoder_2/model.safetensors"),
                sdxl.resolve("unet/diffusion_pytorch_model.safetensors"), sdxl.resolve("vae/diffusion_pytorch_model.safetensors"));
        assertEquals(dev.clif.io.Sha256.of(weights), manifest.path("settings").path("models").path("base").path("weights_sha256").asText());
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(eval.resolve("images/base/00000-0.png")),
                Files.readAllBytes(eval.resolve("images/clif/00000-0.png"))), "the purge changed the red car");

        Path folder = tmp.resolve("applied");
        CliRun a = CliRun.of("apply-delta", "--model", sdxl.toString(), "--delta", delta.toString(), "--out", folder.toString());
        assertEquals(0, a.exit(), a.err());
        Path png = tmp.resolve("gen.png");
        CliRun g = CliRun.of("generate", "--model", folder.toString(), "--prompt", "a red car", "--seed", "3", "--steps", "3",
                "--out", png.toString());
        assertEquals(0, g.exit(), g.err());
        ServeConfig config = ServeConfig.defaults(sdxl).withVariants(Map.of("clif", delta)).withBatching(1, 0);
        try (Server server = Server.start(config)) {
            ServeClient c = new ServeClient(server.baseUrl());
            ServeClient.Reply r = c.post("/v1/images/generations", "{\"model\":\"clif\",\"prompt\":\"a red car\",\"seed\":3,\"steps\":3,"
                    + "\"n\":1,\"size\":\"32x32\",\"response_format\":\"b64_json\"}");
            assertEquals(200, r.status(), r.raw());
            assertArrayEquals(Files.readAllBytes(png), r.pngs().get(0), "serve's SDXL variant image is clif generate's");
        }
    }
}
