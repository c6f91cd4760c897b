package dev.clif.eval;

import dev.clif.ClifException;
import dev.clif.AtomicFile;

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

    /**
     * What a run produced. {@code generated} images were made by this run, {@code reused} were found recorded;
     * {@code preservation} (CLIP score, FID/KID) is null unless the run measured it.
     */
    public record Report(Summary summary, PromptSet prompts, Path results, Path summaryFile, Path manifest, int generated, int reused,
                         Preservation preservation) {}

    /** What {@link #summarise} computed and wrote to {@code summary.json}. */
    public record Findings(Summary summary, Preservation preservation) {}

    /** Added to caption ids when a caption set is evaluated beside a prompt file, so the two never share an id. */
    public static final int CAPTION_ID_OFFSET = 1_000_000_000;

    private final EvalConfig config;

    public Evaluation(EvalConfig config) {
        this.config = config;
    }

    public EvalConfig config() {
        return config;
    }

    public Report run(EvalListener listener) {
        EvalListener say = listener == null ? new EvalListener() {} : listener;
        PromptSet set = promptSet(config, say);
        Path out = config.out();
        // Everything that can be refused is checked before the output folder is made.
        try (ScorerSet scorers = ScorerSet.open(config); FeatureExtractor features = openFeatures(config, set)) {
            String reference = scorers.reference(config.referenceScorer());
            Path manifest = prepareOutput(config, set, scorers, features);
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
            Findings f = summarise(config, plan, done, reference, features, say);
            log.info("evaluation in {}: {} images generated, {} reused", out, generated, reused);
            return new Report(f.summary(), set, resultsFile, out.resolve("summary.json"), manifest, generated, reused, f.preservation());
        }
    }

    /** The prompt file's prompts, the caption set's, or both (caption ids then offset by {@link #CAPTION_ID_OFFSET}). */
    public static PromptSet promptSet(EvalConfig config, EvalListener say) {
        PromptSet set = null;
        if (config.prompts() != null) {
            set = PromptSetReader.read(config.prompts(), config.filter());
            say.onMessage(set.describe());
        }
        EvalConfig.PreservationConfig pc = config.preservation();
        if (pc == null || pc.captions() == null) return set;
        PromptSet caps = CaptionSetReader.read(pc.captions(), pc.sample(), pc.sampleSeed());
        say.onMessage(caps.describe());
        if (set == null) return caps;
        List<EvalPrompt> all = new ArrayList<>(set.prompts());
        for (EvalPrompt p : set.prompts())
            if (p.id() >= CAPTION_ID_OFFSET) throw new ClifException(config.prompts() + ":" + p.line() + ": prompt id " + p.id()
                    + " is too large to share a run with a caption set (ids below " + CAPTION_ID_OFFSET + ")");
        for (EvalPrompt c : caps.prompts()) {
            if ((long) c.id() + CAPTION_ID_OFFSET > Integer.MAX_VALUE)
                throw new ClifException(pc.captions() + ":" + c.line() + ": caption id " + c.id() + " is too large to share a run with a prompt file");
            all.add(new EvalPrompt(c.id() + CAPTION_ID_OFFSET, c.prompt(), c.categories(), c.seed(), c.guidance(), c.width(), c.height(), c.hard(), c.line()));
        }
        return new PromptSet(set.source(), set.format(), all, set.refused());
    }

    /** The feature extractor of FID/KID when the run measures them against a reference (null otherwise), checked first. */
    public static FeatureExtractor openFeatures(EvalConfig config, PromptSet set) {
        EvalConfig.PreservationConfig pc = config.preservation();
        if (pc == null || pc.reference() == null) return null;
        if (!config.saveImages()) throw new ClifException("--fid-reference needs the images: drop --no-images");
        String ref = pc.reference();
        if (ref.startsWith("model=") && config.models().stream().noneMatch(m -> m.name().equals(ref.substring(6))))
            throw new ClifException("--fid-reference " + ref + ": no --model named '" + ref.substring(6) + "' (models: "
                    + String.join(", ", config.models().stream().map(ModelSpec::name).toList()) + ")");
        if (!ref.startsWith("model=") && !ref.equals(Preservation.SHAPES_TRUTH) && !Files.isDirectory(Path.of(ref)))
            throw new ClifException("--fid-reference " + ref + ": neither model=NAME, shapes-truth, nor a folder of images");
        if (ref.equals(Preservation.SHAPES_TRUTH)) Preservation.checkShapesCaptions(Preservation.selectedPrompts(set.prompts(), pc.measured()));
        return FeatureExtractor.create(pc.featuresOrDefault(), ScorerSet.context(config));
    }

    /**
     * Makes the output folder and writes its manifest, or on resume checks the old one; refuses a fresh run over an
     * existing one. Returns the manifest's path.
     */
    public static Path prepareOutput(EvalConfig config, PromptSet set, ScorerSet scorers, FeatureExtractor features) {
        Path out = config.out();
        var settings = Manifest.settings(config, set, config.models(), scorers.deciding(), scorers.reported(), features);
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
     * The summary of every planned image, in plan order, from its record (each key once), and the preservation metrics
     * when the run measures them, written to {@code summary.json}. A record missing for a planned image is an error: the
     * run is not complete.
     */
    public static Findings summarise(EvalConfig config, List<WorkPlan.Unit> plan, Map<ResultRecord.Key, ResultRecord> records, String reference,
                                     FeatureExtractor features, EvalListener say) {
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
        Preservation preservation = null;
        EvalConfig.PreservationConfig pc = config.preservation();
        if (pc != null) {
            say.onMessage("preservation metrics" + (features == null ? "" : ": FID/KID on " + features.name() + " against " + pc.reference()));
            preservation = Preservation.compute(ordered, names, pc.measured(), config.out(), features, pc.reference(), config.bootstrapSamples(),
                    config.bootstrapSeed());
        }
        var root = summary.toJson(JSON);
        if (preservation != null) root.set("preservation", preservation.toJson(JSON));
        AtomicFile.write(config.out().resolve("summary.json"), tmp -> JSON.writeValue(tmp.toFile(), root));
        return new Findings(summary, preservation);
    }
}
