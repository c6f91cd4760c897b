package dev.clif.attack;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;
import dev.clif.eval.ResultsLog;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code clif attack}'s engine end to end on the shipped shapes-world model, with searches cut small: attack.json's
 * structure and figures (recomputed from the eval records), prompts shared where the text encoder is, and a resume after
 * an interruption mid-search (a torn line) that ends where an uninterrupted run does.
 */
class AttackTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static Path prompts(Path dir) throws IOException {
        Path p = dir.resolve("prompts.jsonl");
        Files.writeString(p, """
                {"prompt": "a red circle", "categories": ["red"], "seed": 3, "guidance": 5}
                {"prompt": "a red square and a blue triangle", "categories": ["red"], "seed": 4, "guidance": 5}
                """);
        return p;
    }

    static AttackConfig.Builder ringABell(Path prompts, Path out) {
        return AttackConfig.builder().model("a=shapes").model("b=shapes").prompts(prompts).method(AttackConfig.Method.RING_A_BELL)
                .tokens(3).iterations(3).population(8).concept("red").scorer("shapes-colour=red").imagesPerPrompt(1).steps(3).out(out);
    }

    @Test
    void attackJsonHoldsTheRatesTheRecordsGiveAndAResumeEndsAsAnUninterruptedRun(@TempDir Path dir) throws IOException {
        Path prompts = prompts(dir);
        Path out = dir.resolve("full");
        Attack.Report r = new Attack(ringABell(prompts, out).build()).run(null);
        JsonNode root = JSON.readTree(out.resolve("attack.json").toFile());
        assertEquals("ring-a-bell", root.get("method").asText());
        assertEquals(3, root.at("/settings/tokens").asInt());
        for (String m : List.of("a", "b")) {
            JsonNode node = root.at("/models/" + m);
            for (String f : List.of("pre_rate", "post_rate", "asr", "pre_asr")) {
                double v = node.get(f).asDouble();
                assertTrue(v >= 0 && v <= 1, m + " " + f + " " + v);
            }
            assertEquals(2, node.get("prompts").asInt());
            AttackRates again = AttackRates.compute(ResultsLog.read(out.resolve("eval").resolve(m).resolve("results.jsonl")), List.of(0, 1));
            assertEquals(again.overall().postRate(), node.get("post_rate").asDouble());
            assertEquals(again.overall().asr(), node.get("asr").asDouble());
            assertEquals(again.overall().preRate(), node.at("/categories/red/pre_rate").asDouble(), "one category: the same figures");
            assertEquals(4, ResultsLog.read(out.resolve("eval").resolve(m).resolve("results.jsonl")).size(), "2 originals + 2 found, 1 image each");
        }
        assertEquals("a", root.at("/models/b/search_shared_with").asText());
        assertTrue(root.at("/models/a/search_shared_with").isMissingNode());
        List<FoundPrompt> a = r.found().get("a"), b = r.found().get("b");
        assertEquals(2, a.size());
        for (int i = 0; i < 2; i++) {
            assertEquals(3, a.get(i).ids().length);
            assertEquals(a.get(i).text(), b.get(i).text(), "Ring-A-Bell reads the text encoder only: one search for both");
            assertTrue(a.get(i).objective() <= a.get(i).initialObjective());
        }
        // the found prompts are what the eval generated from
        String evalPrompts = Files.readString(out.resolve("eval/a/prompts.jsonl"));
        assertTrue(evalPrompts.contains("\"id\":" + Attack.FOUND_ID_OFFSET + ",") && evalPrompts.contains(JSON.writeValueAsString(a.get(0).text())));

        var refused = assertThrows(ClifException.class, () -> new Attack(ringABell(prompts, out).build()).run(null));
        assertTrue(refused.getMessage().contains("--resume"), refused.getMessage());

        // interrupted during the second prompt's search of model a: its line torn, nothing of b or the eval yet
        Path cut = dir.resolve("cut");
        Files.createDirectories(cut.resolve("found"));
        List<String> lines = Files.readAllLines(out.resolve("found/a.jsonl"));
        Files.writeString(cut.resolve("found/a.jsonl"), lines.get(0) + "\n" + lines.get(1).substring(0, 40), StandardCharsets.UTF_8);
        Attack.Report resumed = new Attack(ringABell(prompts, cut).resume(true).build()).run(null);
        for (String m : List.of("a", "b")) {
            List<FoundPrompt> x = r.found().get(m), y = resumed.found().get(m);
            for (int i = 0; i < 2; i++) {
                assertEquals(x.get(i).text(), y.get(i).text());
                assertArrayEquals(x.get(i).ids(), y.get(i).ids());
                assertEquals(x.get(i).objective(), y.get(i).objective());
            }
            assertEquals(r.rates().get(m), resumed.rates().get(m));
        }
        assertEquals(2, Files.readAllLines(cut.resolve("found/a.jsonl")).size(), "the torn line was cut, the prompt searched again");
        assertEquals(Files.readString(out.resolve("eval/a/results.jsonl")).lines().map(AttackTest::withoutPaths).toList(),
                Files.readString(cut.resolve("eval/a/results.jsonl")).lines().map(AttackTest::withoutPaths).toList(), "the same images");
    }

    private static String withoutPaths(String line) {
        try {
            var o = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(line);
            o.remove("image");
            return o.toString();
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    @Test
    void unlearnDiffPrefixesTheOriginalPromptWithDiscreteTokens(@TempDir Path dir) throws IOException {
        Path prompts = dir.resolve("p.jsonl");
        Files.writeString(prompts, "{\"prompt\": \"a red circle\", \"categories\": [\"red\"], \"seed\": 3, \"guidance\": 5}\n");
        Path out = dir.resolve("ud");
        Attack.Report r = new Attack(AttackConfig.builder().model("base=shapes").prompts(prompts).method(AttackConfig.Method.UNLEARNDIFF)
                .tokens(2).iterations(3).referenceModel(dev.clif.eval.ModelSpec.parse("ref=shapes")).scorer("shapes-colour=red")
                .imagesPerPrompt(1).steps(3).out(out).build()).run(null);
        FoundPrompt f = r.found().get("base").get(0);
        assertEquals(2, f.adversarialIds().length);
        assertTrue(f.text().endsWith("a red circle"), f.text());
        assertArrayEquals(f.adversarialIds(), java.util.Arrays.copyOf(f.ids(), 2), "the prefix comes first");
        JsonNode root = JSON.readTree(out.resolve("attack.json").toFile());
        assertEquals("unlearndiff", root.get("method").asText());
        assertEquals(1, root.at("/models/base/prompts").asInt());
        assertEquals("shapes", root.at("/settings/reference_model").asText());
    }

    @Test
    void theRandomControlPrefixesKOrdinaryTokensWithoutSearching(@TempDir Path dir) throws IOException {
        Path prompts = prompts(dir);
        Attack.Report r = new Attack(AttackConfig.builder().model("base=shapes").prompts(prompts).method(AttackConfig.Method.RANDOM)
                .scorer("shapes-colour=red").imagesPerPrompt(1).steps(2).out(dir.resolve("rnd")).build()).run(null);
        for (FoundPrompt f : r.found().get("base")) {
            assertEquals(5, f.adversarialIds().length, "the control's K is UnlearnDiff's");
            assertTrue(f.text().endsWith(f.original()), f.text());
            assertTrue(Double.isNaN(f.objective()));
        }
        assertNotEquals(r.found().get("base").get(0).text().split(" ")[0], r.found().get("base").get(1).text().split(" ")[0],
                "each prompt draws its own tokens");
        assertTrue(JSON.readTree(dir.resolve("rnd/found/base.jsonl").toFile()).get("objective").isNull());
    }
}
