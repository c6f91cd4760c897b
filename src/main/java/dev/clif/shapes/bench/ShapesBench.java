package dev.clif.shapes.bench;

import dev.clif.ClifException;
import dev.clif.eval.EvalConfig;
import dev.clif.eval.EvalPrompt;
import dev.clif.eval.Evaluation;
import dev.clif.eval.Preservation;
import dev.clif.eval.report.ReportWriter;
import dev.clif.eval.ModelSpec;
import dev.clif.eval.PromptSetReader;
import dev.clif.eval.Summary;
import dev.clif.AtomicFile;
import dev.clif.io.LabelledGrid;
import dev.clif.io.Png;
import dev.clif.purge.PurgeConfig;
import dev.clif.purge.PurgeResult;
import dev.clif.purge.Purger;
import dev.clif.shapes.Colour;
import dev.clif.shapes.Image;
import dev.clif.shapes.Prompts;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
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

/**
 * Does a purge remove the concept and keep the rest? In the shapes world the answer is counted, not guessed: purge
 * the source colour with each method of {@link Config#methods} ({@link Baseline}: CLIF, ESD, UCE, and the inference-time
 * SLD and negative prompt), each at its default or, with {@link Config#sweep}, at the setting a {@link Sweep} on a tuning
 * seed chose, then run the {@link Evaluation} engine over a categorized shapes prompt set
 * ({@link #promptSet}: category SOURCE for prompts naming the purged colour, TARGET for the target's single shapes,
 * {@code other} for the other colours' single shapes) on the unpurged model and each purged one, the pixel judge as
 * the scorers: {@code shapes-colour=SOURCE} decides, {@code shapes-colour=TARGET} and {@code shapes-exact} are reported.
 *
 * <p>Per model, from the evaluation's summary: {@code purged_concept_rate} = the SOURCE category's flagged share;
 * {@code target_rate} = the share of SOURCE-category images showing the target colour; {@code control_accuracy} =
 * the share of {@code other} images drawn exactly as asked ({@link dev.clif.shapes.Verdict#drawsExactly}). Results: a
 * table, {@code bench.json}, the evaluation's folder {@code eval/} (manifest, results.jsonl, summary.json, images) and
 * {@code grid.png} (rows: prompts; columns: before, CLIF, ESD).
 *
 * <p>Why the purges keep the keys and values of benign prompts by default ({@code preserveKvWeight}, see
 * {@link dev.clif.purge.KvPreservation}): a key/value edit trained on red prompts alone also moves every other
 * prompt, since the prompts share most of their tokens (the padding above all). On the shipped models, 8 images
 * per prompt, 400 steps of batch 4: without it CLIF took red from 98.6% to 26.4% and control accuracy from 100%
 * to 16.7% (ESD: 47.2% and 16.7%); with it (λ = 0.15, the 270 {@link #preservePrompts}) red went to 0.0%, 0.0%,
 * 5.6% and 2.8% for seeds 0 to 3 while controls stayed at 98.3–100%. Batch 4 because at batch 1 (λ = 0.1, the
 * target's prompts not yet preserved) the purge ended at 34.7% red for seed 0 and 16.7% for seed 1.
 *
 * <p>CLIF's text templates ({@code templates}): CLIP's photo templates by default, as {@code clif purge}; the world's own
 * captions ("a {} circle", "a {} square", "a {} triangle") are words the shapes CLIP was trained on, but at seed 5 they
 * helped some colours and hurt others (red=>blue: 5.6 % left with the photo templates, 63.9 % with the captions; see
 * docs/baselines-shapes.md), so they are an option, not the default.
 */
public final class ShapesBench {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** The category of the single shapes of colours neither purged nor targeted. */
    public static final String OTHER = "other";
    public static final String UNPURGED = "unpurged";

    /**
     * What to run. {@code purgeSteps}, {@code lr}, {@code preserveWeight} and {@code params} (parameter presets or globs,
     * see {@link dev.clif.purge.ParameterSelection}) apply to both methods. With {@code clifChain}, CLIF's loss is taken on
     * the image the bench's own sampler draws: both models run the whole {@code sampleSteps}-step DDIM chain from the same
     * noise at the bench's {@code guidance}, the trainable one with gradient ({@link dev.clif.purge.PurgeConfig.Mode#CHAIN}),
     * instead of one step from a frozen trajectory's x_t; a purge step then costs about 3.5 times a one-step one.
     */
    public record Config(Path sdModel, Path clipModel, Colour source, Colour target, List<Baseline> methods,
                         int imagesPerPrompt, int sampleSteps, double guidance, int purgeSteps, int purgeBatch, double lr,
                         double preserveWeight, double preserveKvWeight, List<String> params, long seed, Path out, Sweep.Grid sweep,
                         List<String> templates, double sizeWeight, boolean clifChain) {
        /** The default parameter selection of a purge ({@code xattn-kv}). */
        public static final List<String> DEFAULT_PARAMS = List.of("xattn-kv");

        public Config {
            params = params == null || params.isEmpty() ? DEFAULT_PARAMS : List.copyOf(params);
            templates = templates == null || templates.isEmpty() ? dev.clif.purge.PurgeConfig.DEFAULT_TEMPLATES : List.copyOf(templates);
            if (source == target) throw new ClifException("the concept's source and target colours are the same: " + source.word());
            if (imagesPerPrompt < 1) throw new ClifException("--images must be at least 1");
            if (purgeBatch < 1) throw new ClifException("--purge-batch must be at least 1");
            if (methods.isEmpty()) throw new ClifException("no purge method to compare");
            methods = List.copyOf(methods);
            if (sweep != null && sweep.tuningSeed() == seed)
                throw new ClifException("the tuning seed must differ from the judged --seed (" + seed + "): a setting is judged on seeds it was not chosen on");
        }

        /** CLIF's loss on the one-step x̂0 (the default; see {@link #clifChain}). */
        public Config(Path sdModel, Path clipModel, Colour source, Colour target, List<Baseline> methods, int imagesPerPrompt,
                      int sampleSteps, double guidance, int purgeSteps, int purgeBatch, double lr, double preserveWeight,
                      double preserveKvWeight, List<String> params, long seed, Path out, Sweep.Grid sweep, List<String> templates,
                      double sizeWeight) {
            this(sdModel, clipModel, source, target, methods, imagesPerPrompt, sampleSteps, guidance, purgeSteps, purgeBatch, lr,
                    preserveWeight, preserveKvWeight, params, seed, out, sweep, templates, sizeWeight, false);
        }

        /** Without CLIF's size term (weight 0, the paper's loss). */
        public Config(Path sdModel, Path clipModel, Colour source, Colour target, List<Baseline> methods, int imagesPerPrompt,
                      int sampleSteps, double guidance, int purgeSteps, int purgeBatch, double lr, double preserveWeight,
                      double preserveKvWeight, List<String> params, long seed, Path out, Sweep.Grid sweep, List<String> templates) {
            this(sdModel, clipModel, source, target, methods, imagesPerPrompt, sampleSteps, guidance, purgeSteps, purgeBatch, lr,
                    preserveWeight, preserveKvWeight, params, seed, out, sweep, templates, 0);
        }

        /** Without a sweep: every method at its default (ESD on CLIF's terms, UCE at λ 0.1, SLD strong). */
        public Config(Path sdModel, Path clipModel, Colour source, Colour target, List<Baseline> methods, int imagesPerPrompt,
                      int sampleSteps, double guidance, int purgeSteps, int purgeBatch, double lr, double preserveWeight,
                      double preserveKvWeight, List<String> params, long seed, Path out) {
            this(sdModel, clipModel, source, target, methods, imagesPerPrompt, sampleSteps, guidance, purgeSteps, purgeBatch, lr,
                    preserveWeight, preserveKvWeight, params, seed, out, null, null);
        }

        public Config(Path sdModel, Path clipModel, Colour source, Colour target, List<Baseline> methods, int imagesPerPrompt,
                      int sampleSteps, double guidance, int purgeSteps, int purgeBatch, double lr, double preserveWeight,
                      double preserveKvWeight, List<String> params, long seed, Path out, Sweep.Grid sweep) {
            this(sdModel, clipModel, source, target, methods, imagesPerPrompt, sampleSteps, guidance, purgeSteps, purgeBatch, lr,
                    preserveWeight, preserveKvWeight, params, seed, out, sweep, null);
        }

        /** A method's setting when there is no sweep. */
        public Sweep.Setting defaultSetting(Baseline m) {
            return switch (m) {
                case CLIF, ESD -> new Sweep.Setting(m, lr, purgeSteps, 0, null);
                case UCE -> new Sweep.Setting(m, 0, 0, 0.1, null);
                case SLD -> new Sweep.Setting(m, 0, 0, 0, "strong");
                case NEGATIVE -> new Sweep.Setting(m, 0, 0, 0, null);
            };
        }

        public String concept() {
            return source.word() + "=>" + target.word();
        }
    }

    /**
     * The figures of one model. {@code conceptCi95} is the bootstrap interval of {@code purgedConceptRate};
     * {@code targetAccuracy} is the share of the target colour's single shapes drawn as asked.
     */
    public record Scores(double purgedConceptRate, double[] conceptCi95, double controlAccuracy, double targetRate, double targetAccuracy,
                         int conceptImages, int controlImages, Double purgeSeconds, Preservation.ModelPreservation preservation) {}

    public record Report(Config config, Map<String, Scores> scores, Path json, Path grid, Evaluation.Report eval,
                         Map<Baseline, Sweep.Setting> settings, Map<Baseline, Sweep.Choice> sweep, Path html) {}

    private final Config config;

    public ShapesBench(Config config) {
        this.config = config;
    }

    /**
     * The categorized shapes prompt set of a {@code source=>target} purge: {@link Prompts#containing} the source
     * (category SOURCE), the target's single shapes (category TARGET) and the other colours' single shapes
     * ({@link #OTHER}); prompt i has seed {@code seed * 1000003 + i} and the given guidance.
     */
    public static List<EvalPrompt> promptSet(Colour source, Colour target, long seed, double guidance) {
        List<EvalPrompt> out = new ArrayList<>();
        for (String p : Prompts.containing(source)) out.add(prompt(out.size(), p, source.word(), seed, guidance));
        for (String p : Prompts.singles(target)) out.add(prompt(out.size(), p, target.word(), seed, guidance));
        for (String p : Prompts.controls(source, target)) out.add(prompt(out.size(), p, OTHER, seed, guidance));
        return out;
    }

    private static EvalPrompt prompt(int id, String text, String category, long seed, double guidance) {
        return new EvalPrompt(id, text, List.of(category), seed * 1_000_003L + id, guidance, null, null, false, id + 2);
    }

    public Report run(Consumer<String> progress) {
        Consumer<String> say = progress == null ? s -> {} : progress;
        // A bad --params fails now, not after the first purge.
        try (dev.clif.io.SafetensorsFile f = dev.clif.io.SafetensorsFile.open(config.sdModel().resolve("unet/diffusion_pytorch_model.safetensors"))) {
            List<String> selected = dev.clif.purge.ParameterSelection.select(f.names(), config.params());
            if (config.preserveKvWeight() > 0) dev.clif.purge.KvPreservation.checkSelection(selected, config.params());
        }
        try {
            Files.createDirectories(config.out());
        } catch (java.io.IOException e) {
            throw new ClifException(config.out() + ": cannot create: " + e.getMessage(), e);
        }
        List<EvalPrompt> prompts = promptSet(config.source(), config.target(), config.seed(), config.guidance());
        Path promptsFile = config.out().resolve("prompts.csv");
        PromptSetReader.writeI2pCsv(promptsFile, prompts);
        List<String> conceptPrompts = Prompts.containing(config.source());
        Map<Baseline, Sweep.Choice> sweep = config.sweep() == null ? Map.of() : tune(conceptPrompts, say);
        Map<Baseline, Sweep.Setting> settings = new LinkedHashMap<>();
        List<ModelSpec> models = new ArrayList<>();
        models.add(new ModelSpec(UNPURGED, config.sdModel().toString(), config.sdModel(), null, null));
        Map<String, Double> purgeSeconds = new LinkedHashMap<>();
        for (Baseline m : config.methods()) {
            Sweep.Setting setting = sweep.containsKey(m) ? sweep.get(m).chosen() : config.defaultSetting(m);
            settings.put(m, setting);
            models.add(variant(m.key(), setting, config.seed(), config.out().resolve("purge-" + m.key()), conceptPrompts, purgeSeconds, say));
        }
        Evaluation.Report eval = evaluate(config.out().resolve("eval"), promptsFile, prompts.size(), config.imagesPerPrompt(), config.seed(), models, say);
        Map<String, Scores> scores = scores(eval, purgeSeconds);
        Path grid = config.out().resolve("grid.png");
        writeGrid(grid, eval.summaryFile().getParent(), prompts, scores.keySet());
        Path json = config.out().resolve("bench.json");
        writeJson(json, prompts, scores, eval, settings, sweep);
        Path html = ReportWriter.write(eval.summaryFile().getParent(), true, 1000, config.seed());
        return new Report(config, scores, json, grid, eval, settings, sweep, html);
    }

    /**
     * The sweep: every candidate setting of every method with more than one, purged with the tuning seed and judged on
     * the tuning seed's images, with the unpurged model; then each method's choice.
     */
    private Map<Baseline, Sweep.Choice> tune(List<String> conceptPrompts, Consumer<String> say) {
        Sweep.Grid g = config.sweep();
        Path dir = config.out().resolve("tuning");
        List<EvalPrompt> prompts = promptSet(config.source(), config.target(), g.tuningSeed(), config.guidance());
        try {
            Files.createDirectories(dir);
        } catch (java.io.IOException e) {
            throw new ClifException(dir + ": cannot create: " + e.getMessage(), e);
        }
        Path promptsFile = dir.resolve("prompts.csv");
        PromptSetReader.writeI2pCsv(promptsFile, prompts);
        List<ModelSpec> models = new ArrayList<>();
        models.add(new ModelSpec(UNPURGED, config.sdModel().toString(), config.sdModel(), null, null));
        Map<String, Double> seconds = new LinkedHashMap<>();
        Map<Baseline, List<Map.Entry<String, Sweep.Setting>>> tried = new LinkedHashMap<>();
        Map<Baseline, Sweep.Choice> out = new LinkedHashMap<>();
        for (Baseline m : config.methods()) {
            List<Sweep.Setting> cands = Sweep.candidates(m, g, config.defaultSetting(m));
            if (cands.size() == 1) {
                out.put(m, new Sweep.Choice(m, List.of(), cands.get(0), "one setting: nothing to sweep"));
                continue;
            }
            List<Map.Entry<String, Sweep.Setting>> list = new ArrayList<>();
            // A trained purge's longer runs at one learning rate continue the shorter one's checkpoint (the same first
            // steps: same seed, constant rate), so lr x steps costs the longest run per rate, not their sum.
            Map<Double, Map.Entry<Path, Sweep.Setting>> shorter = new LinkedHashMap<>();
            for (int i = 0; i < cands.size(); i++) {
                String key = m.key() + "-" + (i + 1);
                Sweep.Setting c = cands.get(i);
                say.accept("sweep: " + key + " = " + c.label());
                Path runDir = dir.resolve("purge-" + key);
                Map.Entry<Path, Sweep.Setting> prev = shorter.get(c.lr());
                if ((m == Baseline.ESD || m == Baseline.CLIF) && prev != null && prev.getValue().steps() < c.steps()) {
                    String prevKey = prev.getKey().getFileName().toString().substring("purge-".length());
                    models.add(continued(key, c, g.tuningSeed(), runDir, prev.getKey(), seconds.get(prevKey), conceptPrompts, seconds, say));
                } else {
                    models.add(variant(key, c, g.tuningSeed(), runDir, conceptPrompts, seconds, say));
                }
                if (prev == null || prev.getValue().steps() < c.steps()) shorter.put(c.lr(), Map.entry(runDir, c));
                list.add(Map.entry(key, c));
            }
            tried.put(m, list);
        }
        if (tried.isEmpty()) return out;
        Evaluation.Report eval = evaluate(dir.resolve("eval"), promptsFile, prompts.size(), g.tuningImages(), g.tuningSeed(), models, say);
        Map<String, Scores> scores = scores(eval, seconds);
        double base = scores.get(UNPURGED).controlAccuracy();
        for (Map.Entry<Baseline, List<Map.Entry<String, Sweep.Setting>>> e : tried.entrySet()) {
            List<Sweep.Outcome> outcomes = new ArrayList<>();
            for (Map.Entry<String, Sweep.Setting> c : e.getValue()) {
                Scores s = scores.get(c.getKey());
                outcomes.add(new Sweep.Outcome(c.getValue(), c.getKey(), s.purgedConceptRate(), s.controlAccuracy(), s.targetRate(), s.purgeSeconds()));
            }
            Sweep.Choice choice = Sweep.choose(e.getKey(), outcomes, base);
            say.accept("sweep: " + e.getKey().key() + " -> " + choice.chosen().label() + " (" + choice.why() + ")");
            out.put(e.getKey(), choice);
        }
        // in the methods' order
        Map<Baseline, Sweep.Choice> ordered = new LinkedHashMap<>();
        for (Baseline m : config.methods()) ordered.put(m, out.get(m));
        return ordered;
    }

    /** The model variant of a method at a setting: a purge's delta on the base, or the base with SLD or a negative prompt. */
    private ModelSpec variant(String key, Sweep.Setting s, long seed, Path runDir, List<String> conceptPrompts, Map<String, Double> seconds,
                              Consumer<String> say) {
        Baseline m = s.method();
        String colour = config.source().word();
        return switch (m) {
            case SLD -> {
                dev.clif.sampling.SafeLatentDiffusion sld = dev.clif.sampling.SafeLatentDiffusion.preset(s.sldPreset()).withConcept(colour);
                yield new ModelSpec(key, config.sdModel() + ";sld=" + s.sldPreset() + ";sld-concept=" + colour, config.sdModel(), null, null, sld);
            }
            case NEGATIVE -> new ModelSpec(key, config.sdModel() + ";negative=" + colour, config.sdModel(), null, colour);
            case CLIF, ESD, UCE -> {
                say.accept("purging with " + key + " (" + s.label() + ")");
                long t0 = System.nanoTime();
                purge(m.purgeMethod(), conceptPrompts, runDir, s, seed);
                seconds.put(key, (System.nanoTime() - t0) / 1e9);
                Path delta = runDir.resolve("delta.safetensors");
                yield new ModelSpec(key, config.sdModel() + "+" + delta, config.sdModel(), delta, null);
            }
        };
    }

    /** A trained purge at {@code s}, continued from a shorter run's checkpoint in {@code from} (its seconds counted too). */
    private ModelSpec continued(String key, Sweep.Setting s, long seed, Path runDir, Path from, double secondsBefore, List<String> conceptPrompts,
                                Map<String, Double> seconds, Consumer<String> say) {
        say.accept("purging with " + key + " (" + s.label() + "), continuing " + from.getFileName());
        if (Files.exists(runDir)) deleteTree(runDir);
        Path ckpt = Purger.checkpointFile(runDir);
        try {
            Files.createDirectories(ckpt.getParent());
            Files.copy(Purger.checkpointFile(from), ckpt);
        } catch (java.io.IOException e) {
            throw new ClifException(runDir + ": cannot copy the checkpoint of " + from + ": " + e.getMessage(), e);
        }
        long t0 = System.nanoTime();
        purgeBuilder(s.method().purgeMethod(), conceptPrompts, runDir, s, seed, true);
        seconds.put(key, secondsBefore + (System.nanoTime() - t0) / 1e9);
        Path delta = runDir.resolve("delta.safetensors");
        return new ModelSpec(key, config.sdModel() + "+" + delta, config.sdModel(), delta, null);
    }

    private Evaluation.Report evaluate(Path evalDir, Path promptsFile, int promptCount, int images, long seed, List<ModelSpec> models,
                                       Consumer<String> say) {
        if (Files.exists(evalDir)) deleteTree(evalDir);
        EvalConfig.Builder ec = EvalConfig.builder()
                .prompts(promptsFile)
                .scorer("shapes-colour=" + config.source().word())
                .alsoScore("shapes-colour=" + config.target().word())
                .alsoScore("shapes-exact")
                .alsoScore(zeroShotSpec())
                .referenceScorer("shapes-colour:" + config.source().word())
                // What the purge keeps, on the prompts that do not name the source colour: the CLIP score (shapes CLIP),
                // and FID/KID of the shapes CLIP's image embeddings against the world's own drawing of each caption.
                .clip(config.clipModel())
                .preservation(new EvalConfig.PreservationConfig(null, null, 0, List.of(config.target().word(), OTHER), Preservation.SHAPES_TRUTH,
                        "clip=" + config.clipModel()))
                .imagesPerPrompt(images)
                .steps(config.sampleSteps())
                .batch(8)
                .out(evalDir)
                .bootstrap(1000, seed);
        models.forEach(ec::model);
        say.accept("judging " + models.size() + " models: " + promptCount + " prompts x " + images + " images each");
        return new Evaluation(ec.build()).run(new dev.clif.eval.EvalListener() {
            @Override
            public void onMessage(String message) {
                say.accept(message);
            }
        });
    }

    /** Per model, from the evaluation's summary. */
    private Map<String, Scores> scores(Evaluation.Report eval, Map<String, Double> purgeSeconds) {
        String targetJudge = "shapes-colour:" + config.target().word();
        Map<String, Scores> scores = new LinkedHashMap<>();
        for (Map.Entry<String, Summary.ModelSummary> e : eval.summary().models().entrySet()) {
            Summary.Block concept = e.getValue().categories().get(config.source().word());
            Summary.Block target = e.getValue().categories().get(config.target().word());
            Summary.Block other = e.getValue().categories().get(OTHER);
            scores.put(e.getKey(), new Scores(concept.rate(), concept.ci95(), 1 - other.scorerRates().get("shapes-exact"),
                    concept.scorerRates().get(targetJudge), 1 - target.scorerRates().get("shapes-exact"), concept.images(), other.images(),
                    purgeSeconds.get(e.getKey()), eval.preservation().models().get(e.getKey())));
        }
        return scores;
    }

    /**
     * A learned judge beside the pixel judge, to measure how far it can be trusted: the shapes CLIP zero-shot, the
     * source colour's single-shape captions against every other colour's.
     */
    private String zeroShotSpec() {
        List<String> safe = new ArrayList<>();
        for (Colour c : Colour.values()) if (c != config.source()) safe.addAll(Prompts.singles(c));
        return "clip-zero-shot=" + config.clipModel() + ":" + String.join("|", Prompts.singles(config.source())) + "=>" + String.join("|", safe);
    }

    private PurgeResult purge(PurgeConfig.Method method, List<String> prompts, Path runDir, Sweep.Setting s, long seed) {
        if (Files.exists(runDir)) deleteTree(runDir);
        return purgeBuilder(method, prompts, runDir, s, seed, false);
    }

    private PurgeResult purgeBuilder(PurgeConfig.Method method, List<String> prompts, Path runDir, Sweep.Setting s, long seed, boolean resume) {
        Path promptsFile = config.out().resolve("concept-prompts.txt");
        AtomicFile.writeBytes(promptsFile, (String.join("\n", prompts) + "\n").getBytes(StandardCharsets.UTF_8));
        PurgeConfig.Builder b = PurgeConfig.builder();
        boolean uce = method == PurgeConfig.Method.UCE;
        if (uce || config.preserveWeight() > 0 || config.preserveKvWeight() > 0) {
            // Preserve on two-shape scenes without the source colour; the controls judged afterwards are single
            // shapes, so the preservation set and the evaluation set do not overlap.
            Path preserveFile = config.out().resolve("preserve-prompts.txt");
            AtomicFile.writeBytes(preserveFile, (String.join("\n", preservePrompts()) + "\n").getBytes(StandardCharsets.UTF_8));
            // UCE keeps them through its closed form (weight λ), the trained purges through their loss terms.
            if (uce) b.preserve(preserveFile, 0).ucePreserveScale(s.uceLambda());
            else b.preserve(preserveFile, config.preserveWeight()).preserveKv(config.preserveKvWeight());
        }
        if (!uce) b.steps(s.steps()).lr(s.lr());
        b.templates(config.templates());
        if (method == PurgeConfig.Method.CLIF) b.sizeWeight(config.sizeWeight());
        if (method == PurgeConfig.Method.CLIF && config.clifChain())
            b.mode(PurgeConfig.Mode.CHAIN).ddimSteps(config.sampleSteps()).chainSteps(config.sampleSteps())
                    .guidance(config.guidance()).trainGuidance(config.guidance());
        PurgeConfig pc = b
                .concept(config.concept())
                .prompts(promptsFile)
                .method(method)
                .params(config.params())
                .seed(seed)
                .checkpointEvery(Math.max(1, s.steps()))
                .batch(config.purgeBatch())
                .outputDir(runDir)
                .resume(resume)
                .build();
        return new Purger(pc, config.sdModel(), uce ? null : config.clipModel()).run(null);
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

    /** Rows: prompts (with their category); columns: the first image of each model, read back from the evaluation's images. */
    private void writeGrid(Path file, Path evalDir, List<EvalPrompt> prompts, java.util.Collection<String> models) {
        List<List<java.awt.image.BufferedImage>> rows = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        for (EvalPrompt p : prompts) {
            List<java.awt.image.BufferedImage> row = new ArrayList<>();
            for (String m : models)
                row.add(Image.readPng(evalDir.resolve("images/" + m + "/" + String.format(Locale.ROOT, "%05d-0.png", p.id()))).toBufferedImage());
            rows.add(row);
            labels.add("[" + String.join(", ", p.categories()) + "] " + p.prompt());
        }
        Png.write(LabelledGrid.render("purge " + config.concept() + ": image 0 of each prompt", new ArrayList<>(models), labels, rows, 2), file);
    }

    private void writeJson(Path file, List<EvalPrompt> prompts, Map<String, Scores> scores, Evaluation.Report eval,
                           Map<Baseline, Sweep.Setting> settings, Map<Baseline, Sweep.Choice> sweep) {
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
        o.put("size_weight", config.sizeWeight());
        o.put("clif_mode", config.clifChain() ? "chain" : "one-step");
        ArrayNode templates = o.putArray("clif_templates");
        config.templates().forEach(templates::add);
        o.putPOJO("params", config.params());
        o.put("seed", config.seed());
        o.put("sd_model", config.sdModel().toString());
        o.put("clip_model", config.clipModel().toString());
        o.put("prompts_file", config.out().relativize(eval.prompts().source()).toString());
        o.put("eval_summary", config.out().relativize(eval.summaryFile()).toString());
        o.putPOJO("concept_prompts", prompts.stream().filter(p -> p.categories().contains(config.source().word())).map(EvalPrompt::prompt).toList());
        o.putPOJO("target_prompts", prompts.stream().filter(p -> p.categories().contains(config.target().word())).map(EvalPrompt::prompt).toList());
        o.putPOJO("control_prompts", prompts.stream().filter(p -> p.categories().contains(OTHER)).map(EvalPrompt::prompt).toList());
        o.putPOJO("columns_of_grid", new ArrayList<>(scores.keySet()));
        o.put("report", config.out().relativize(config.out().resolve("eval/report.html")).toString());
        ObjectNode pres = o.putObject("preservation");
        pres.putPOJO("categories", eval.preservation().categories());
        pres.put("features", eval.preservation().features());
        pres.put("reference", "the shapes world's drawing of each caption at its seed (shapes-truth)");
        // How the CLIP zero-shot judge agrees with the pixel judge over every image of the run.
        for (Summary.AgreementRow a : eval.summary().agreement())
            if (a.scope().equals("all") && a.scorer().equals("clip-zero-shot")) {
                ObjectNode g = o.putObject("clip_zero_shot_vs_pixels");
                g.put("images", a.agreement().images());
                g.put("accuracy", a.agreement().accuracy());
                if (!Double.isNaN(a.agreement().precision())) g.put("precision", a.agreement().precision());
                if (!Double.isNaN(a.agreement().recall())) g.put("recall", a.agreement().recall());
            }
        o.putPOJO("methods", config.methods().stream().map(Baseline::key).toList());
        if (config.sweep() != null) {
            ObjectNode sw = o.putObject("sweep");
            sw.setAll(config.sweep().json());
            sw.put("judged_seed", config.seed());
            ObjectNode per = sw.putObject("methods");
            for (Map.Entry<Baseline, Sweep.Choice> e : sweep.entrySet()) per.set(e.getKey().key(), e.getValue().json());
        }
        for (Map.Entry<String, Scores> e : scores.entrySet()) {
            ObjectNode b = o.putObject(e.getKey());
            Scores s = e.getValue();
            for (Map.Entry<Baseline, Sweep.Setting> m : settings.entrySet())
                if (m.getKey().key().equals(e.getKey())) b.set("setting", m.getValue().json());
            b.put("purged_concept_rate", s.purgedConceptRate());
            b.putArray("purged_concept_ci95").add(s.conceptCi95()[0]).add(s.conceptCi95()[1]);
            b.put("control_accuracy", s.controlAccuracy());
            b.put("target_rate", s.targetRate());
            b.put("target_accuracy", s.targetAccuracy());
            b.put("concept_images", s.conceptImages());
            b.put("control_images", s.controlImages());
            if (s.purgeSeconds() != null) b.put("purge_seconds", s.purgeSeconds());
            Preservation.ModelPreservation p = s.preservation();
            if (p != null) {
                ObjectNode k = b.putObject("preservation");
                k.put("images", p.images());
                if (p.clipScore() != null) {
                    k.put("clip_score", p.clipScore().value());
                    k.putArray("clip_score_ci95").add(p.clipScore().ci95()[0]).add(p.clipScore().ci95()[1]);
                }
                if (p.fid() != null) k.put("fid_to_truth", p.fid());
                if (p.kid() != null) k.put("kid_to_truth", p.kid().mean()).put("kid_std", p.kid().std());
            }
        }
        AtomicFile.write(file, tmp -> JSON.writeValue(tmp.toFile(), o));
    }

    /** The table the CLI prints. */
    public static String table(Report r) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "concept %s, %d images per prompt%n", r.config().concept(), r.config().imagesPerPrompt()));
        sb.append(String.format(Locale.ROOT, "%-10s %16s %15s %14s %12s %13s %10s %11s %8s %8s  %s%n", "model", "purged concept", "95% CI",
                "control acc.", "target", "target acc.", "purge s", "CLIP score", "FID", "KID", "setting"));
        for (Map.Entry<String, Scores> e : r.scores().entrySet()) {
            Scores s = e.getValue();
            Preservation.ModelPreservation p = s.preservation();
            String setting = "";
            for (Map.Entry<Baseline, Sweep.Setting> m : r.settings().entrySet())
                if (m.getKey().key().equals(e.getKey())) setting = m.getValue().label();
            sb.append(String.format(Locale.ROOT, "%-10s %15.1f%% %6.1f–%5.1f%% %13.1f%% %11.1f%% %12.1f%% %10s %11s %8s %8s  %s%n", e.getKey(),
                    100 * s.purgedConceptRate(), 100 * s.conceptCi95()[0], 100 * s.conceptCi95()[1], 100 * s.controlAccuracy(),
                    100 * s.targetRate(), 100 * s.targetAccuracy(),
                    s.purgeSeconds() == null ? "-" : String.format(Locale.ROOT, "%.1f", s.purgeSeconds()),
                    p == null || p.clipScore() == null ? "-" : String.format(Locale.ROOT, "%.2f", p.clipScore().value()),
                    p == null || p.fid() == null ? "-" : String.format(Locale.ROOT, "%.3f", p.fid()),
                    p == null || p.kid() == null ? "-" : String.format(Locale.ROOT, "%.4f", p.kid().mean()), setting));
        }
        if (r.eval().preservation() != null) {
            sb.append(String.format(Locale.ROOT, "CLIP score, FID and KID over the %s prompts; FID/KID on %s against the shapes world's drawing of each caption%n",
                    String.join(" and ", r.eval().preservation().categories()), r.eval().preservation().features()));
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
