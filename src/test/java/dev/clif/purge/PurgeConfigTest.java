package dev.clif.purge;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PurgeConfigTest {
    /** Names as the tiny UNet has them, plus the non-cross-attention kinds. */
    static final List<String> NAMES = List.of(
            "conv_in.weight",
            "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight",
            "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_q.weight",
            "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight",
            "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_v.weight",
            "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_out.0.weight",
            "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_out.0.bias",
            "mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight",
            "mid_block.attentions.0.transformer_blocks.0.attn2.to_v.weight",
            "up_blocks.1.resnets.0.conv1.weight");

    @Test
    void conceptPairsParse() {
        assertEquals(new ConceptPair("nudity", "clothed person"), ConceptPair.parse("nudity=>clothed person"));
        assertEquals(new ConceptPair("red car", "blue car"), ConceptPair.parse("  red car  =>  blue car "));
    }

    @Test
    void malformedConceptsAreClearErrors() {
        for (String[] c : new String[][] {{"nudity", "expected \"SOURCE=>TARGET\""}, {"=>dog", "source"}, {"cat=>", "target"},
                {"  =>  ", "source"}, {"a=>b=>c", "more than one"}, {"cat->dog", "expected"}, {"cat=>cat", "the same"}}) {
            ClifException e = assertThrows(ClifException.class, () -> ConceptPair.parse(c[0]), c[0]);
            assertTrue(e.getMessage().contains(c[1]), c[0] + ": " + e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
        }
    }

    @Test
    void presets() {
        assertEquals(List.of(NAMES.get(3), NAMES.get(4), NAMES.get(7), NAMES.get(8)), ParameterSelection.select(NAMES, List.of("xattn-kv")));
        assertEquals(ParameterSelection.select(NAMES, List.of("xattn-kv")), ParameterSelection.select(NAMES, List.of()), "default");
        assertEquals(NAMES.subList(2, 9), ParameterSelection.select(NAMES, List.of("xattn")));
        assertEquals(List.of(NAMES.get(0), NAMES.get(1), NAMES.get(9)), ParameterSelection.select(NAMES, List.of("noxattn")));
        assertEquals(NAMES, ParameterSelection.select(NAMES, List.of("full")));
        List<String> xattn = ParameterSelection.select(NAMES, List.of("xattn"));
        List<String> rest = ParameterSelection.select(NAMES, List.of("noxattn"));
        List<String> all = new ArrayList<>(xattn);
        all.addAll(rest);
        assertEquals(NAMES.size(), all.stream().distinct().count(), "xattn and noxattn partition the parameters");
    }

    @Test
    void globs() {
        assertEquals(List.of(NAMES.get(7), NAMES.get(8)), ParameterSelection.select(NAMES, List.of("mid_block.*")));
        assertEquals(List.of(NAMES.get(3), NAMES.get(7)), ParameterSelection.select(NAMES, List.of("*.attn2.to_k.weight")));
        assertEquals(List.of(NAMES.get(2), NAMES.get(3), NAMES.get(4), NAMES.get(7), NAMES.get(8)), ParameterSelection.select(NAMES, List.of("*.attn2.to_?.weight")));
        // union, in model order, comma-separated too
        assertEquals(List.of(NAMES.get(0), NAMES.get(7), NAMES.get(8)), ParameterSelection.select(NAMES, List.of("mid_block.*,conv_in.weight")));
        // exact name; dots are literal
        assertEquals(List.of(NAMES.get(0)), ParameterSelection.select(NAMES, List.of("conv_in.weight")));
        assertThrows(ClifException.class, () -> ParameterSelection.select(NAMES, List.of("conv_inXweight")));
    }

    @Test
    void unknownPresetAndEmptyGlobAreErrors() {
        ClifException e = assertThrows(ClifException.class, () -> ParameterSelection.select(NAMES, List.of("attention")));
        assertTrue(e.getMessage().contains("unknown parameter preset 'attention'"), e.getMessage());
        e = assertThrows(ClifException.class, () -> ParameterSelection.select(NAMES, List.of("*.attn3.*")));
        assertTrue(e.getMessage().contains("matches no UNet parameter"), e.getMessage());
    }

    @Test
    void promptFiles(@TempDir Path tmp) throws IOException {
        Path f = tmp.resolve("p.txt");
        Files.writeString(f, "# unsafe prompts\n\na nude person on a beach\tnudity\na bloody fight\tviolence\n  \nan uncategorised prompt\n");
        List<PromptList.Prompt> ps = PromptList.read(f);
        assertEquals(3, ps.size());
        assertEquals(new PromptList.Prompt("a nude person on a beach", "nudity"), ps.get(0));
        assertNull(ps.get(2).category());
        assertEquals(List.of("a nude person on a beach", "an uncategorised prompt"), PromptList.forConcept(ps, ConceptPair.parse("nudity=>clothed")));
        assertEquals(3, PromptList.forConcept(ps, ConceptPair.parse("cat=>dog")).size(), "no category matches: every prompt");
        Files.writeString(f, "ok\n\tnudity\n");
        ClifException e = assertThrows(ClifException.class, () -> PromptList.read(f));
        assertTrue(e.getMessage().contains(f + ":2"), e.getMessage());
        Files.writeString(f, "a\tb\tc\n");
        e = assertThrows(ClifException.class, () -> PromptList.read(f));
        assertTrue(e.getMessage().contains(f + ":1") && e.getMessage().contains("columns"), e.getMessage());
        Files.writeString(f, "# only comments\n\n");
        assertThrows(ClifException.class, () -> PromptList.read(f));
        e = assertThrows(ClifException.class, () -> PromptList.read(tmp.resolve("missing.txt")));
        assertTrue(e.getMessage().contains("missing.txt"), e.getMessage());
    }

    @Test
    void configDefaultsAndValidation(@TempDir Path tmp) {
        PurgeConfig c = PurgeConfig.builder().concept("a=>b").outputDir(tmp).build();
        assertTrue(c.templates().size() >= 20);
        assertEquals(PurgeConfig.Mode.ONE_STEP, c.mode());
        assertEquals(List.of("xattn-kv"), c.params());
        assertEquals(3.0, c.guidance());
        assertEquals(0, c.minStopIndex());
        assertEquals(c.ddimSteps() - 1, c.maxStopIndex());
        assertEquals(50, c.checkpointEvery());
        ClifException e = assertThrows(ClifException.class,
                () -> PurgeConfig.builder().concept("a=>b").outputDir(tmp).dtype(DType.F16).device(Device.CPU).build());
        assertTrue(e.getMessage().contains("needs a CUDA device"), e.getMessage());
        assertThrows(ClifException.class, () -> PurgeConfig.builder().outputDir(tmp).build());
        e = assertThrows(ClifException.class, () -> PurgeConfig.builder().concept("a=>b").outputDir(tmp).preserveKv(1).build());
        assertTrue(e.getMessage().contains("--preserve FILE"), e.getMessage());
        assertThrows(ClifException.class, () -> PurgeConfig.builder().concept("a=>b").outputDir(tmp).preserve(tmp, 0).preserveKv(-1).build());
        PurgeConfig kvOnly = PurgeConfig.builder().concept("a=>b").outputDir(tmp).preserve(tmp, 0).preserveKv(0.5).build();
        assertTrue(kvOnly.preservesKv() && !kvOnly.preserves());
        assertEquals(0.5, kvOnly.toJson().get("preserve_kv_weight").asDouble());
        assertEquals(0.0, kvOnly.toJson().get("size_weight").asDouble());
        assertEquals(0.3, PurgeConfig.builder().concept("a=>b").outputDir(tmp).sizeWeight(0.3).build().toJson().get("size_weight").asDouble());
        assertThrows(ClifException.class, () -> PurgeConfig.builder().concept("a=>b").outputDir(tmp).sizeWeight(-1).build());
        assertThrows(ClifException.class, () -> PurgeConfig.builder().concept("a=>b").outputDir(tmp).method(PurgeConfig.Method.ESD).sizeWeight(1).build());
        com.fasterxml.jackson.databind.node.ObjectNode beforeSize = kvOnly.toJson();
        beforeSize.remove("size_weight");
        assertNull(PurgeConfig.resumeConflict(beforeSize, kvOnly.toJson()));
        // A checkpoint from before the key/value term resumes under a config without it, and only then.
        PurgeConfig plain = PurgeConfig.builder().concept("a=>b").outputDir(tmp).build();
        com.fasterxml.jackson.databind.node.ObjectNode older = plain.toJson();
        older.remove("preserve_kv_weight");
        assertNull(PurgeConfig.resumeConflict(older, plain.toJson()));
        String conflict = PurgeConfig.resumeConflict(older, PurgeConfig.builder().concept("a=>b").outputDir(tmp).preserve(tmp, 1)
                .preserveKv(0.5).build().toJson());
        assertTrue(conflict != null && conflict.startsWith("preserve_kv_weight"), conflict);
        assertThrows(ClifException.class, () -> PurgeConfig.builder().concept("a=>b").outputDir(tmp).steps(0).build());
        assertThrows(ClifException.class, () -> PurgeConfig.builder().concept("a=>b").outputDir(tmp).ddimSteps(10).stopIndexRange(3, 10).build());
        assertThrows(ClifException.class, () -> PurgeConfig.builder().concept("a=>b").outputDir(tmp).templates(List.of("no slot")).build());
        assertThrows(ClifException.class, () -> PurgeConfig.builder().concept("a=>b").outputDir(tmp).mode(PurgeConfig.Mode.CHAIN).chainSteps(0).build());
        assertNotEquals(Purger.stepSeed(0, 1), Purger.stepSeed(0, 2));
        assertNotEquals(Purger.stepSeed(0, 1), Purger.stepSeed(1, 1));
        assertTrue(Purger.stepSeed(-5, 3) >= 0);
    }

    @Test
    void lossModelWithoutVisionTowerIsRefused(@TempDir Path tmp) throws IOException {
        Files.writeString(tmp.resolve("config.json"), "{\"architectures\": [\"CLIPTextModel\"], \"hidden_size\": 32}");
        ClifException e = assertThrows(ClifException.class, () -> Purger.checkLossModel(tmp));
        assertTrue(e.getMessage().contains("no vision tower"), e.getMessage());
    }
}
