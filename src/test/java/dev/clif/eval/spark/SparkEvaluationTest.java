package dev.clif.eval.spark;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.eval.EvalConfig;
import dev.clif.eval.Evaluation;
import dev.clif.eval.ResultRecord;
import dev.clif.eval.ResultsLog;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** local[2] on the shapes world: the same images and the same summary as the single-machine engine. */
class SparkEvaluationTest {
    static Path prompts(Path dir) throws Exception {
        Path f = dir.resolve("prompts.csv");
        Files.writeString(f, """
                prompt,category,seed
                a red circle,red,11
                a red square and a blue circle,red,12
                a green triangle,other,13
                a yellow square,other,14
                a white circle,other,15
                """);
        return f;
    }

    static EvalConfig.Builder config(Path prompts, Path out) {
        return EvalConfig.builder().prompts(prompts).model("base=shapes").model("neg=shapes;negative=a red circle")
                .scorer("shapes-colour=red").alsoScore("shapes-exact").imagesPerPrompt(2).steps(8).guidance(5.0).batch(3).out(out)
                .bootstrap(200, 0);
    }

    @Test
    void sparkGivesTheSameImagesAndSummaryAsOneMachineEvenWhenATaskFailsOnce(@TempDir Path tmp) throws Exception {
        Path prompts = prompts(tmp);
        Evaluation.Report single = new Evaluation(config(prompts, tmp.resolve("single")).build()).run(null);
        Path marker = tmp.resolve("failed-once");
        System.setProperty(UnitTask.FAIL_ONCE, marker.toString());
        Evaluation.Report spark;
        try {
            // local[2,2]: two cores, and each task may fail once and be retried.
            spark = new SparkEvaluation(config(prompts, tmp.resolve("spark")).build(), "local[2,2]").run(null);
        } finally {
            System.clearProperty(UnitTask.FAIL_ONCE);
        }
        assertTrue(Files.exists(marker), "a task failed once and was retried");
        assertEquals(hashes(single.results()), hashes(spark.results()), "the same image for every key, none missing, none twice");
        assertEquals(Files.readString(single.results()), Files.readString(spark.results()), "results.jsonl line for line");
        ObjectMapper json = new ObjectMapper();
        assertEquals(json.readTree(single.summaryFile().toFile()), json.readTree(spark.summaryFile().toFile()), "the same summary.json");
        assertEquals(20, spark.generated());
        assertTrue(Files.isDirectory(tmp.resolve("spark/records/model=base")), "Parquet partitioned by model");

        // Resume: nothing left to do; the records are read back, not regenerated.
        Evaluation.Report again = new SparkEvaluation(config(prompts, tmp.resolve("spark")).resume(true).build(), "local[2]").run(null);
        assertEquals(0, again.generated());
        assertEquals(20, again.reused());
        assertEquals(hashes(single.results()), hashes(again.results()));
    }

    @Test
    void batchesAreChunkedByModelSoATaskLoadsOneModel() throws Exception {
        // Two models, three batches each, none done: at parallelism 2 about two chunks per core, never mixing models.
        Path tmp = Files.createTempDirectory("chunks");
        var plan = dev.clif.eval.WorkPlan.of(config(prompts(tmp), tmp.resolve("o")).build(),
                dev.clif.eval.PromptSetReader.read(tmp.resolve("prompts.csv"), null));
        assertEquals(8, plan.size(), "5 prompts x 2 images in batches of 3, per model");
        List<List<Integer>> chunks = SparkEvaluation.chunks(plan, java.util.Set.of(), 2);
        for (List<Integer> c : chunks) assertEquals(1, c.stream().map(i -> plan.get(i).model().name()).distinct().count(), c.toString());
        assertEquals(8, chunks.stream().mapToInt(List::size).sum());
        var done = new java.util.HashSet<ResultRecord.Key>(plan.get(0).keys());
        assertFalse(SparkEvaluation.chunks(plan, done, 2).stream().anyMatch(c -> c.contains(0)), "a recorded batch is not rerun");
    }

    @Test
    void theCommandLineRunsOnSparkWithDashDashSpark(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("cli");
        Path p = tmp.resolve("one.csv");
        Files.writeString(p, "prompt,category,seed\na red circle,red,3\n");
        picocli.CommandLine cl = dev.clif.cli.Main.commandLine();
        java.io.StringWriter err = new java.io.StringWriter();
        cl.setErr(new java.io.PrintWriter(err, true));
        int exit = cl.execute("eval", "--prompts", p.toString(), "--model", "base=shapes", "--scorer", "shapes-colour=red", "--steps", "4",
                "--spark", "local[1]", "--out", out.toString());
        assertEquals(0, exit, err.toString());
        assertEquals(1, ResultsLog.read(out.resolve("results.jsonl")).size());
        assertTrue(Files.exists(out.resolve("summary.json")) && Files.exists(out.resolve("manifest.json")));
    }

    static Map<String, String> hashes(Path results) {
        Map<String, String> m = new TreeMap<>();
        for (ResultRecord r : ResultsLog.read(results)) assertNull(m.put(r.key().toString(), r.sha256()), "twice: " + r.key());
        return m;
    }
}
