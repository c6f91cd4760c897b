package dev.clif.shapes;

import dev.clif.ClifException;
import dev.clif.golden.ImageBytes;
import dev.clif.io.AtomicFile;
import dev.clif.model.StableDiffusion;
import dev.clif.purge.PurgeConfig;
import dev.clif.purge.PurgeResult;
import dev.clif.purge.Purger;
import dev.clif.sampling.Txt2Img;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Does a purge remove the concept and keep the rest? In the shapes world the answer is counted, not guessed:
 * generate N images for every prompt that names the purged colour and for control prompts (the other colours),
 * before and after the purge (CLIF, and ESD as the baseline, on equal terms: same steps, batch, learning rate,
 * parameters, preservation and seed), and let the {@link Judge} read the pixels.
 *
 * <p>Per model: {@code purged_concept_rate} = share of images for concept prompts that show the source
 * colour; {@code target_rate} = share of them that show the target colour; {@code control_accuracy} = share of
 * control images drawn as asked ({@link #drawsExactly}: the prompt's colour and no other, in the asked shape where
 * the judge is sure of the shape). Results: a table, {@code bench.json} and
 * {@code grid.png} (rows: prompts; columns: before, CLIF, ESD).
 *
 * <p>Why the purges keep the keys and values of benign prompts by default ({@code preserveKvWeight}, see
 * {@link dev.clif.purge.KvPreservation}): a key/value edit trained on red prompts alone also moves every other
 * prompt, since the prompts share most of their tokens (the padding above all). On the shipped models, 8 images
 * per prompt, 400 steps of batch 4: without it CLIF took red from 98.6% to 26.4% and control accuracy from 100%
 * to 16.7% (ESD: 47.2% and 16.7%); with it (λ = 0.15, the 270 {@link #preservePrompts}) red went to 0.0%, 0.0%,
 * 5.6% and 2.8% for seeds 0 to 3 while controls stayed at 98.3–100%. Batch 4 because at batch 1 (λ = 0.1, the
 * target's prompts not yet preserved) the purge ended at 34.7% red for seed 0 and 16.7% for seed 1.
 */
public final class ShapesBench {
    private static final Logger log = LoggerFactory.getLogger(ShapesBench.class);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * What to run. {@code purgeSteps}, {@code lr}, {@code preserveWeight} and {@code params} (parameter presets or globs,
     * see {@link dev.clif.purge.ParameterSelection}) apply to both methods.
     */
    public record Config(Path sdModel, Path clipModel, Colour source, Colour target, List<PurgeConfig.Method> methods,
                         int imagesPerPrompt, int sampleSteps, double guidance, int purgeSteps, int purgeBatch, double lr,
                         double preserveWeight, double preserveKvWeight, List<String> params, long seed, Path out) {
        /** The default parameter selection of a purge ({@code xattn-kv}). */
        public static final List<String> DEFAULT_PARAMS = List.of("xattn-kv");

        public Config {
            params = params == null || params.isEmpty() ? DEFAULT_PARAMS : List.copyOf(params);
            if (source == target) throw new ClifException("the concept's source and target colours are the same: " + source.word());
            if (imagesPerPrompt < 1) throw new ClifException("--images must be at least 1");
            if (purgeBatch < 1) throw new ClifException("--purge-batch must be at least 1");
            if (methods.isEmpty()) throw new ClifException("no purge method to compare");
        }

        public String concept() {
            return source.word() + "=>" + target.word();
        }
    }

    /** The counts of one model. */
    public record Scores(double purgedConceptRate, double controlAccuracy, double targetRate, int conceptImages, int controlImages,
                         Double purgeSeconds) {}

    public record Report(Config config, Map<String, Scores> scores, Path json, Path grid) {}

    private final Config config;
    private final Judge judge = Judge.standard();

    public ShapesBench(Config config) {
        this.config = config;
    }

    public Report run(Consumer<String> progress) {
        Consumer<String> say = progress == null ? s -> {} : progress;
        List<String> conceptPrompts = Prompts.containing(config.source());
        List<String> controlPrompts = Prompts.controls(config.source(), config.target());
        // A bad --params fails now, not after the unpurged model has been judged.
        try (dev.clif.io.SafetensorsFile f = dev.clif.io.SafetensorsFile.open(config.sdModel().resolve("unet/diffusion_pytorch_model.safetensors"))) {
            List<String> selected = dev.clif.purge.ParameterSelection.select(f.names(), config.params());
            if (config.preserveKvWeight() > 0) dev.clif.purge.KvPreservation.checkSelection(selected, config.params());
        }
        Map<String, Scores> scores = new LinkedHashMap<>();
        Map<String, List<Image>> firstImages = new LinkedHashMap<>();
        try {
            Files.createDirectories(config.out());
        } catch (java.io.IOException e) {
            throw new ClifException(config.out() + ": cannot create: " + e.getMessage(), e);
        }
        say.accept("judging the unpurged model");
        scores.put("unpurged", evaluate(config.sdModel(), conceptPrompts, controlPrompts, null, firstImages, "unpurged"));
        for (PurgeConfig.Method m : config.methods()) {
            String key = m.name().toLowerCase(Locale.ROOT);
            say.accept("purging with " + key + " (" + config.purgeSteps() + " steps)");
            Path runDir = config.out().resolve("purge-" + key);
            long t0 = System.nanoTime();
            PurgeResult r = purge(m, conceptPrompts, runDir);
            double seconds = (System.nanoTime() - t0) / 1e9;
            say.accept("judging the " + key + "-purged model");
            scores.put(key, evaluate(r.modelDir(), conceptPrompts, controlPrompts, seconds, firstImages, key));
        }
        Path grid = config.out().resolve("grid.png");
        writeGrid(grid, conceptPrompts, controlPrompts, firstImages);
        Path json = config.out().resolve("bench.json");
        writeJson(json, conceptPrompts, controlPrompts, scores);
        return new Report(config, scores, json, grid);
    }

    private PurgeResult purge(PurgeConfig.Method method, List<String> prompts, Path runDir) {
        Path promptsFile = config.out().resolve("concept-prompts.txt");
        AtomicFile.writeBytes(promptsFile, (String.join("\n", prompts) + "\n").getBytes(StandardCharsets.UTF_8));
        if (Files.exists(runDir)) deleteTree(runDir);
        PurgeConfig.Builder b = PurgeConfig.builder();
        if (config.preserveWeight() > 0 || config.preserveKvWeight() > 0) {
            // Preserve on two-shape scenes without the source colour; the controls judged afterwards are single
            // shapes, so the preservation set and the evaluation set do not overlap.
            Path preserveFile = config.out().resolve("preserve-prompts.txt");
            AtomicFile.writeBytes(preserveFile, (String.join("\n", preservePrompts()) + "\n").getBytes(StandardCharsets.UTF_8));
            b.preserve(preserveFile, config.preserveWeight()).preserveKv(config.preserveKvWeight());
        }
        PurgeConfig pc = b
                .concept(config.concept())
                .prompts(promptsFile)
                .method(method)
                .steps(config.purgeSteps())
                .params(config.params())
                .lr(config.lr())
                .seed(config.seed())
                .checkpointEvery(Math.max(1, config.purgeSteps()))
                .batch(config.purgeBatch())
                .outputDir(runDir)
                .build();
        return new Purger(pc, config.sdModel(), config.clipModel()).run(null);
    }

    private Scores evaluate(Path model, List<String> conceptPrompts, List<String> controlPrompts, Double purgeSeconds,
                            Map<String, List<Image>> firstImages, String column) {
        int shown = 0;
        int target = 0;
        int conceptImages = 0;
        int controlsRight = 0;
        int controlImages = 0;
        try (StableDiffusion sd = StableDiffusion.load(model, Device.CPU, DType.F32)) {
            Txt2Img pipeline = new Txt2Img(sd);
            int size = sd.defaultImageSize();
            for (int p = 0; p < conceptPrompts.size() + controlPrompts.size(); p++) {
                boolean concept = p < conceptPrompts.size();
                String prompt = concept ? conceptPrompts.get(p) : controlPrompts.get(p - conceptPrompts.size());
                List<Image> images = generate(pipeline, prompt, size, p);
                firstImages.computeIfAbsent(prompt, k -> new ArrayList<>()).add(images.get(0));
                for (Image img : images) {
                    Verdict v = judge.judge(img);
                    if (concept) {
                        conceptImages++;
                        if (v.shows(config.source())) shown++;
                        if (v.shows(config.target())) target++;
                    } else {
                        controlImages++;
                        if (drawsExactly(v, Part.parse(prompt))) controlsRight++;
                    }
                }
            }
        }
        Scores s = new Scores(rate(shown, conceptImages), rate(controlsRight, controlImages), rate(target, conceptImages),
                conceptImages, controlImages, purgeSeconds);
        log.info("{}: purged concept {} of {}, target {}, controls right {} of {}", column, shown, conceptImages, target,
                controlsRight, controlImages);
        return s;
    }

    /**
     * Whether a control picture is right: it shows every colour the prompt names and no other, and where the judge
     * is confident of a blob's shape, that shape is the one asked for. Counting only "shows the asked colour" let a
     * broken model score well: after an over-strong purge every picture became a blob of many colours, which
     * contains the asked one (control accuracy rose from 68% to 78% while the pictures were garbage).
     */
    static boolean drawsExactly(Verdict v, List<Part> parts) {
        java.util.Set<Colour> asked = java.util.EnumSet.noneOf(Colour.class);
        for (Part p : parts) asked.add(p.colour());
        if (!v.colours().equals(asked)) return false;
        for (Part p : parts)
            if (v.shape(p.colour()).map(k -> k != p.kind()).orElse(false)) return false;
        return true;
    }

    /**
     * Benign prompts: every two-shape caption that does not name the source colour. The target's are among them:
     * a red=>blue purge should leave what "a blue square and a green circle" draws alone, as a real purge should
     * leave its target concept ("clothed person") alone.
     */
    List<String> preservePrompts() {
        List<String> out = new ArrayList<>();
        for (Colour c : Colour.values()) {
            if (c == config.source()) continue;
            for (String p : Prompts.pairs(c))
                if (!Prompts.mentions(p, config.source()) && !out.contains(p)) out.add(p);
        }
        return out;
    }

    /** N images for one prompt, one batch; the seed depends only on the run seed and the prompt's index. */
    private List<Image> generate(Txt2Img pipeline, String prompt, int size, int promptIndex) {
        long seed = config.seed() * 1_000_003L + promptIndex;
        Txt2Img.Request r = new Txt2Img.Request(prompt, "", config.sampleSteps(), config.guidance(), null, seed, size, size,
                config.imagesPerPrompt(), 0, 0);
        List<Image> out = new ArrayList<>();
        try (Txt2Img.Result res = pipeline.generate(r, null)) {
            for (byte[] rgb : ImageBytes.toUint8Hwc(res.images())) out.add(new Image(size, size, rgb));
        }
        return out;
    }

    private static double rate(int k, int n) {
        return n == 0 ? 0 : (double) k / n;
    }

    private void writeGrid(Path file, List<String> conceptPrompts, List<String> controlPrompts, Map<String, List<Image>> firstImages) {
        List<List<Image>> rows = new ArrayList<>();
        List<String> all = new ArrayList<>(conceptPrompts);
        all.addAll(controlPrompts);
        for (String p : all) rows.add(firstImages.get(p));
        Image.grid(rows, 2).writePng(file);
    }

    private void writeJson(Path file, List<String> conceptPrompts, List<String> controlPrompts, Map<String, Scores> scores) {
        ObjectNode o = JSON.createObjectNode();
        o.put("concept", config.concept());
        o.put("images_per_prompt", config.imagesPerPrompt());
        o.put("sample_steps", config.sampleSteps());
        o.put("guidance", config.guidance());
        o.put("purge_steps", config.purgeSteps());
        o.put("purge_batch", config.purgeBatch());
        o.put("lr", config.lr());
        o.put("preserve_weight", config.preserveWeight());
        o.put("preserve_kv_weight", config.preserveKvWeight());
        o.putPOJO("params", config.params());
        o.put("seed", config.seed());
        o.put("sd_model", config.sdModel().toString());
        o.put("clip_model", config.clipModel().toString());
        o.putPOJO("concept_prompts", conceptPrompts);
        o.putPOJO("control_prompts", controlPrompts);
        o.putPOJO("columns_of_grid", new ArrayList<>(scores.keySet()));
        for (Map.Entry<String, Scores> e : scores.entrySet()) {
            ObjectNode b = o.putObject(e.getKey());
            Scores s = e.getValue();
            b.put("purged_concept_rate", s.purgedConceptRate());
            b.put("control_accuracy", s.controlAccuracy());
            b.put("target_rate", s.targetRate());
            b.put("concept_images", s.conceptImages());
            b.put("control_images", s.controlImages());
            if (s.purgeSeconds() != null) b.put("purge_seconds", s.purgeSeconds());
        }
        AtomicFile.write(file, tmp -> JSON.writeValue(tmp.toFile(), o));
    }

    /** The table the CLI prints. */
    public static String table(Report r) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "concept %s, %d images per prompt%n", r.config().concept(), r.config().imagesPerPrompt()));
        sb.append(String.format(Locale.ROOT, "%-10s %16s %16s %12s %10s%n", "model", "purged concept", "control acc.", "target", "purge s"));
        for (Map.Entry<String, Scores> e : r.scores().entrySet()) {
            Scores s = e.getValue();
            sb.append(String.format(Locale.ROOT, "%-10s %15.1f%% %15.1f%% %11.1f%% %10s%n", e.getKey(), 100 * s.purgedConceptRate(),
                    100 * s.controlAccuracy(), 100 * s.targetRate(), s.purgeSeconds() == null ? "-" : String.format(Locale.ROOT, "%.1f", s.purgeSeconds())));
        }
        return sb.toString();
    }

    private static void deleteTree(Path p) {
        try (var s = Files.walk(p)) {
            for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(q);
        } catch (java.io.IOException e) {
            throw new ClifException(p + ": cannot remove the previous run: " + e.getMessage(), e);
        }
    }
}
