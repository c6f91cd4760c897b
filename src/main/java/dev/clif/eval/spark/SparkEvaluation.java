package dev.clif.eval.spark;

import dev.clif.ClifException;
import dev.clif.eval.EvalConfig;
import dev.clif.eval.EvalListener;
import dev.clif.eval.Evaluation;
import dev.clif.eval.PromptSet;
import dev.clif.eval.FeatureExtractor;
import dev.clif.eval.ResultRecord;
import dev.clif.eval.ScorerSet;
import dev.clif.eval.WorkPlan;
import dev.clif.AtomicFile;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code clif eval} on Apache Spark, with the single-machine engine's results. The driver reads the prompts, opens the
 * scorers (so a bad spec fails before any task starts), writes the manifest and makes the same {@link WorkPlan}; the
 * batches not yet recorded are spread over tasks, each holding batches of one model so it loads that model once
 * ({@link UnitTask}). Tasks write their records to the Parquet dataset {@code OUT/records/} (partitioned by model)
 * through Spark's commit protocol, so a failed and retried task leaves no duplicate; the driver reads the dataset back,
 * keeps each (model, prompt id, image index) once, and writes {@code results.jsonl} and {@code summary.json} with the
 * single-machine code. {@code OUT} must be on a file system every executor shares.
 */
public final class SparkEvaluation {
    private static final Logger log = LoggerFactory.getLogger(SparkEvaluation.class);
    /** Take the master from spark-submit instead of naming one. */
    public static final String FROM_SUBMIT = "submit";

    private final EvalConfig config;
    private final String master;

    /** {@code master}: a Spark master URL ({@code local[2]}, {@code spark://…}, {@code yarn}) or {@link #FROM_SUBMIT}. */
    public SparkEvaluation(EvalConfig config, String master) {
        this.config = config;
        this.master = master;
    }

    public Evaluation.Report run(EvalListener listener) {
        EvalListener say = listener == null ? new EvalListener() {} : listener;
        PromptSet set = Evaluation.promptSet(config, say);
        Path out = config.out();
        Path dataset = out.resolve("records");
        try (ScorerSet scorers = ScorerSet.open(config); FeatureExtractor features = Evaluation.openFeatures(config, set)) {
            String reference = scorers.reference(config.referenceScorer());
            if (!config.resume() && Files.exists(dataset))
                throw new ClifException(dataset + " exists: pass --resume to continue that run, or choose a new --out");
            Path manifest = Evaluation.prepareOutput(config, set, scorers, features);
            List<WorkPlan.Unit> plan = WorkPlan.of(config, set);
            SparkSession.Builder b = SparkSession.builder().appName("clif eval " + out.getFileName());
            if (!FROM_SUBMIT.equals(master)) b.master(master);
            if (master.startsWith("local")) {
                // In-process runs talk to themselves only: loopback, no web UI.
                b.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1").config("spark.ui.enabled", "false");
            }
            SparkSession spark = b.getOrCreate();
            try {
                Map<ResultRecord.Key, ResultRecord> done = config.resume() ? read(spark, dataset) : new HashMap<>();
                int reused = done.size();
                List<List<Integer>> chunks = chunks(plan, done.keySet(), spark.sparkContext().defaultParallelism());
                int todo = 0;
                for (List<Integer> c : chunks) for (int i : c) todo += plan.get(i).items().size();
                say.onMessage("Spark " + spark.sparkContext().master() + ": " + chunks.size() + " tasks over " + todo + " images"
                        + (reused > 0 ? " (" + reused + " already recorded)" : ""));
                if (!chunks.isEmpty()) {
                    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
                    // One chunk per partition: parallelize with as many slices as elements keeps them apart.
                    JavaRDD<Row> rows = jsc.parallelize(chunks, chunks.size())
                            .mapPartitions(new UnitTask(EvalJob.toJson(config), new HashSet<>(done.keySet())));
                    spark.createDataFrame(rows, RecordRows.SCHEMA).write().mode(SaveMode.Append).partitionBy("model")
                            .parquet(dataset.toUri().toString());
                }
                Map<ResultRecord.Key, ResultRecord> all = read(spark, dataset);
                writeResults(out.resolve("results.jsonl"), plan, all);
                Evaluation.Findings f = Evaluation.summarise(config, plan, all, reference, features, say);
                int generated = all.size() - reused;
                log.info("spark evaluation in {}: {} images generated, {} reused", out, generated, reused);
                return new Evaluation.Report(f.summary(), set, out.resolve("results.jsonl"), out.resolve("summary.json"), manifest, generated,
                        reused, f.preservation());
            } finally {
                if (!FROM_SUBMIT.equals(master)) spark.stop();
            }
        }
    }

    /**
     * The batches still to run, in chunks of one model each: about two chunks per core of the cluster, so work spreads
     * while each task loads its model once.
     */
    static List<List<Integer>> chunks(List<WorkPlan.Unit> plan, Set<ResultRecord.Key> done, int parallelism) {
        Map<String, List<Integer>> byModel = new java.util.LinkedHashMap<>();
        for (int i = 0; i < plan.size(); i++) {
            WorkPlan.Unit u = plan.get(i);
            if (!done.containsAll(u.keys())) byModel.computeIfAbsent(u.model().name(), k -> new ArrayList<>()).add(i);
        }
        int total = byModel.values().stream().mapToInt(List::size).sum();
        int per = Math.max(1, (int) Math.ceil(total / (2.0 * Math.max(1, parallelism))));
        List<List<Integer>> out = new ArrayList<>();
        for (List<Integer> units : byModel.values())
            for (int i = 0; i < units.size(); i += per) out.add(new ArrayList<>(units.subList(i, Math.min(units.size(), i + per))));
        return out;
    }

    /** Every record of the dataset, each key once (a retried task's records equal the first's; the first is kept). */
    private static Map<ResultRecord.Key, ResultRecord> read(SparkSession spark, Path dataset) {
        Map<ResultRecord.Key, ResultRecord> out = new HashMap<>();
        if (!Files.isDirectory(dataset)) return out;
        String where = dataset.toString();
        for (Row row : spark.read().parquet(dataset.toUri().toString()).collectAsList()) {
            ResultRecord r = RecordRows.fromRow(row, where);
            ResultRecord before = out.putIfAbsent(r.key(), r);
            if (before != null && !before.sha256().equals(r.sha256()))
                throw new ClifException(where + ": two different images recorded for " + r.key() + ": the run is not deterministic");
        }
        return out;
    }

    /** {@code results.jsonl} in plan order, as the single-machine run writes it, replaced atomically. */
    private static void writeResults(Path file, List<WorkPlan.Unit> plan, Map<ResultRecord.Key, ResultRecord> all) {
        ObjectMapper json = new ObjectMapper();
        StringBuilder sb = new StringBuilder();
        for (WorkPlan.Unit u : plan)
            for (ResultRecord.Key k : u.keys()) {
                ResultRecord r = all.get(k);
                if (r != null) sb.append(r.toJson(json).toString()).append('\n');
            }
        AtomicFile.writeBytes(file, sb.toString().getBytes(StandardCharsets.UTF_8));
    }
}
