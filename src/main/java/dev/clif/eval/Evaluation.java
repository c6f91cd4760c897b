package dev.clif.eval;

import dev.clif.ClifException;
import dev.clif.io.AtomicFile;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The evaluation engine: generate N images per prompt of a categorized prompt set for each model variant, judge each
 * image with the scorers, record it, and summarise per model and category. Output folder:
 * <pre>
 *   manifest.json    what makes the numbers reproducible (see {@link Manifest})
 *   results.jsonl    one line per image, appended and flushed as it is judged ({@link ResultsLog})
 *   summary.json     the rates per model and category ({@link Summary})
 *   images/MODEL/ID-K.png
 * </pre>
 * With {@code resume} an interrupted run continues: recorded images are skipped, and the batch an interrupted image
 * belonged to is recomputed whole, so every image comes out as an uninterrupted run makes it.
 */
public final class Evaluation {
    private static final Logger log = LoggerFactory.getLogger(Evaluation.class);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** What a run produced. {@code generated} images were made by this run, {@code reused} were found recorded. */
    public record Report(Summary summary, PromptSet prompts, Path results, Path summaryFile, Path manifest, int generated, int reused) {}

    private final EvalConfig config;

    public Evaluation(EvalConfig config) {
        this.config = config;
    }

    public EvalConfig config() {
        return config;
    }

    public Report run(EvalListener listener) {
        EvalListener say = listener == null ? new EvalListener() {} : listener;
        PromptSet set = PromptSetReader.read(config.prompts(), config.filter());
        say.onMessage(set.describe());
        Path out = config.out();
        try (ScorerSet scorers = ScorerSet.open(config)) {
            // Everything that can be refused is checked before the output folder is made.
            String reference = scorers.reference(config.referenceScorer());
            Path manifest = prepareOutput(config, set, scorers);
            List<WorkPlan.Unit> plan = WorkPlan.of(config, set);
            Path resultsFile = out.resolve("results.jsonl");
            Map<ResultRecord.Key, ResultRecord> done = new HashMap<>();
            if (config.resume()) for (ResultRecord r : ResultsLog.read(resultsFile)) done.put(r.key(), r);
            int total = 0, reused = 0;
            for (WorkPlan.Unit u : plan)
                for (ResultRecord.Key k : u.keys()) {
                    total++;
                    if (done.containsKey(k)) reused++;
                }
            if (reused > 0) say.onMessage("resuming: " + reused + " of " + total + " images already recorded");
            int generated = 0;
            long start = System.nanoTime();
            try (ResultsLog results = ResultsLog.open(resultsFile, config.resume())) {
                for (ModelSpec model : config.models()) {
                    List<WorkPlan.Unit> mine = plan.stream().filter(u -> u.model() == model && !done.keySet().containsAll(u.keys())).toList();
                    if (mine.isEmpty()) continue;
                    say.onMessage("loading model " + model.name() + " (" + model.spec() + ")");
                    try (BatchRunner runner = new BatchRunner(config, model, scorers, config.device())) {
                        for (WorkPlan.Unit u : mine)
                            for (ResultRecord r : runner.run(u, done::containsKey)) {
                                results.append(r);
                                done.put(r.key(), r);
                                generated++;
                                say.onRecord(r);
                                double rate = generated / Math.max(1e-9, (System.nanoTime() - start) / 1e9);
                                int left = total - (reused + generated);
                                say.onProgress(reused + generated, total, rate, left / rate);
                            }
                    }
                }
            }
            Summary summary = summarise(config, plan, done, reference);
            log.info("evaluation in {}: {} images generated, {} reused", out, generated, reused);
            return new Report(summary, set, resultsFile, out.resolve("summary.json"), manifest, generated, reused);
        }
    }

    /**
     * Makes the output folder and writes its manifest, or on resume checks the old one; refuses a fresh run over an
     * existing one. Returns the manifest's path.
     */
    public static Path prepareOutput(EvalConfig config, PromptSet set, ScorerSet scorers) {
        Path out = config.out();
        var settings = Manifest.settings(config, set, config.models(), scorers.deciding(), scorers.reported());
        if (!config.resume() && Files.exists(out.resolve("results.jsonl")))
            throw new ClifException(out.resolve("results.jsonl") + " exists: pass --resume to continue that run, or choose a new --out");
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new ClifException(out + ": cannot create: " + e.getMessage(), e);
        }
        Path manifest = out.resolve("manifest.json");
        Manifest.writeOrCheck(manifest, settings, config.resume());
        return manifest;
    }

    /**
     * The summary of every planned image, in plan order, from its record (each key once), written to
     * {@code summary.json}. A record missing for a planned image is an error: the run is not complete.
     */
    public static Summary summarise(EvalConfig config, List<WorkPlan.Unit> plan, Map<ResultRecord.Key, ResultRecord> records, String reference) {
        List<ResultRecord> ordered = new ArrayList<>();
        for (WorkPlan.Unit u : plan)
            for (ResultRecord.Key k : u.keys()) {
                ResultRecord r = records.get(k);
                if (r == null) throw new ClifException(config.out() + ": no record of image " + k.imageIndex() + " of prompt " + k.promptId()
                        + " for model " + k.model() + ": the run is incomplete (run it again with --resume)");
                ordered.add(r);
            }
        List<String> names = config.models().stream().map(ModelSpec::name).toList();
        Summary summary = Summary.compute(ordered, names, reference, config.bootstrapSamples(), config.bootstrapSeed());
        AtomicFile.write(config.out().resolve("summary.json"), tmp -> JSON.writeValue(tmp.toFile(), summary.toJson(JSON)));
        return summary;
    }
}
