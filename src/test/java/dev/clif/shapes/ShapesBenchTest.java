package dev.clif.shapes;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.purge.PurgeConfig;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The benchmark harness end to end with a small N: purge with both methods, judge before/after, write
 * bench.json with every field and the grid. Runs on the golden tiny models (their pictures are noise to the
 * judge, so only the plumbing and the bookkeeping are checked here, not efficacy).
 */
class ShapesBenchTest {
    @Test
    void benchWritesEveryFieldAndAGrid(@TempDir Path tmp) throws Exception {
        Path golden = Path.of(System.getProperty("clif.golden", "../shared/golden"));
        Assumptions.assumeTrue(Files.isDirectory(golden.resolve("tiny-sd")), "golden models not present");
        ShapesBench.Config cfg = new ShapesBench.Config(golden.resolve("tiny-sd"), golden.resolve("tiny-clip"), Colour.RED,
                Colour.BLUE, List.of(PurgeConfig.Method.CLIF, PurgeConfig.Method.ESD), 1, 2, 5, 2, 1e-3, 1, 3, tmp.resolve("bench"));
        ShapesBench.Report r = new ShapesBench(cfg).run(null);
        JsonNode j = new ObjectMapper().readTree(r.json().toFile());
        assertEquals("red=>blue", j.get("concept").asText());
        assertEquals(1, j.get("images_per_prompt").asInt());
        for (String block : List.of("unpurged", "clif", "esd")) {
            JsonNode b = j.get(block);
            assertNotNull(b, block);
            for (String f : List.of("purged_concept_rate", "control_accuracy", "target_rate")) {
                double v = b.get(f).asDouble(-1);
                assertTrue(v >= 0 && v <= 1, block + "." + f + " = " + v);
            }
            assertEquals(Prompts.containing(Colour.RED).size(), b.get("concept_images").asInt());
            assertEquals(Prompts.controls(Colour.RED, Colour.BLUE).size(), b.get("control_images").asInt());
            if (!block.equals("unpurged")) assertTrue(b.get("purge_seconds").asDouble() > 0, block);
        }
        Image grid = Image.readPng(r.grid());
        assertTrue(grid.width() >= 3 * 32 && grid.height() >= 24 * 32, grid.width() + "x" + grid.height());
        assertTrue(ShapesBench.table(r).contains("clif"));
    }
}
