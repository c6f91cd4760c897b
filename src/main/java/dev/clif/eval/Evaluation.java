package dev.clif.eval;

import dev.clif.ClifException;
import dev.clif.golden.ImageBytes;
import dev.clif.io.AtomicFile;
import dev.clif.io.RgbImage;
import dev.clif.io.Sha256;
import dev.clif.model.StableDiffusion;
import dev.clif.model.UNetConfig;
import dev.clif.model.VaeConfig;
import dev.clif.sampling.Txt2Img;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

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

    /** One image to make: image {@code k} of {@code prompt}, from {@code seed}. */
    record Item(EvalPrompt prompt, int k, long seed) {}

    /** Images denoised together: one model, one size, one guidance. */
    record Unit(ModelSpec model, int width, int height, double guidance, List<Item> items) {}

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
        List<Scorer> deciding = new ArrayList<>();
        List<Scorer> also = new ArrayList<>();
        try {
            // Everything that can be refused is checked before the output folder is made.
            openScorers(deciding, also);
            String reference = referenceScorer(deciding, also);
            var settings = Manifest.settings(config, set, config.models(), deciding, also);
            if (!config.resume() && Files.exists(out.resolve("results.jsonl")))
                throw new ClifException(out.resolve("results.jsonl") + " exists: pass --resume to continue that run, or choose a new --out");
            try {
                Files.createDirectories(out);
            } catch (IOException e) {
                throw new ClifException(out + ": cannot create: " + e.getMessage(), e);
            }
            Path manifest = out.resolve("manifest.json");
            Manifest.writeOrCheck(manifest, settings, config.resume());
            List<Unit> plan = plan(set);
            Path resultsFile = out.resolve("results.jsonl");
            Map<ResultRecord.Key, ResultRecord> done = new HashMap<>();
            if (config.resume()) for (ResultRecord r : ResultsLog.read(resultsFile)) done.put(r.key(), r);
            int total = 0;
            for (Unit u : plan) total += u.items().size();
            int reused = 0;
            for (Unit u : plan)
                for (Item it : u.items()) if (done.containsKey(key(u, it))) reused++;
            if (reused > 0) say.onMessage("resuming: " + reused + " of " + total + " images already recorded");
            int generated = 0;
            long start = System.nanoTime();
            try (ResultsLog results = ResultsLog.open(resultsFile, config.resume())) {
                for (ModelSpec model : config.models()) {
                    List<Unit> mine = plan.stream().filter(u -> u.model() == model).toList();
                    if (mine.stream().allMatch(u -> u.items().stream().allMatch(it -> done.containsKey(key(u, it))))) continue;
                    say.onMessage("loading model " + model.name() + " (" + model.spec() + ")");
                    try (StableDiffusion sd = model.load(config.device(), config.dtype())) {
                        Txt2Img pipeline = new Txt2Img(sd, model.sld());
                        for (Unit u : mine) {
                            if (u.items().stream().allMatch(it -> done.containsKey(key(u, it)))) continue;
                            for (ResultRecord r : runUnit(pipeline, u, deciding, also, done)) {
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
            }
            List<ResultRecord> records = new ArrayList<>();
            for (Unit u : plan)
                for (Item it : u.items()) records.add(done.get(key(u, it)));
            List<String> names = config.models().stream().map(ModelSpec::name).toList();
            Summary summary = Summary.compute(records, names, reference, config.bootstrapSamples(), config.bootstrapSeed());
            Path summaryFile = out.resolve("summary.json");
            AtomicFile.write(summaryFile, tmp -> JSON.writeValue(tmp.toFile(), summary.toJson(JSON)));
            log.info("evaluation in {}: {} images generated, {} reused", out, generated, reused);
            return new Report(summary, set, resultsFile, summaryFile, manifest, generated, reused);
        } finally {
            for (Scorer s : deciding) s.close();
            for (Scorer s : also) s.close();
        }
    }

    private void openScorers(List<Scorer> deciding, List<Scorer> also) {
        Path clip = config.clip() == null ? null : ModelAliases.resolve(config.clip().toString());
        ScorerContext ctx = new ScorerContext(clip, config.device());
        Set<String> names = new HashSet<>();
        for (String spec : config.scorers()) add(deciding, Scorers.create(spec, ctx), names);
        for (String spec : config.alsoScore()) add(also, Scorers.create(spec, ctx), names);
    }

    private static void add(List<Scorer> to, Scorer s, Set<String> names) {
        to.add(s); // added first so that a failure below still closes it
        if (!names.add(s.name())) throw new ClifException("two scorers are named '" + s.name() + "': give each scorer once");
    }

    private String referenceScorer(List<Scorer> deciding, List<Scorer> also) {
        String ref = config.referenceScorer();
        if (ref == null) return null;
        for (Scorer s : deciding) if (s.name().equals(ref)) return ref;
        for (Scorer s : also) if (s.name().equals(ref)) return ref;
        List<String> known = new ArrayList<>();
        deciding.forEach(s -> known.add(s.name()));
        also.forEach(s -> known.add(s.name()));
        throw new ClifException("--reference-scorer " + ref + ": no such scorer in this run (scorers: " + String.join(", ", known) + ")");
    }

    private static ResultRecord.Key key(Unit u, Item it) {
        return new ResultRecord.Key(u.model().name(), it.prompt().id(), it.k());
    }

    /**
     * The fixed batches of the run: per model, in prompt order, image k of each prompt, cut where the size or the
     * guidance changes or the batch is full. Fixed so that a resumed run recomputes the same batches.
     */
    List<Unit> plan(PromptSet set) {
        List<Unit> units = new ArrayList<>();
        for (ModelSpec m : config.models()) {
            int nativeSize = nativeSize(m);
            List<Item> pending = new ArrayList<>();
            int w0 = 0, h0 = 0;
            double g0 = 0;
            for (EvalPrompt p : set.prompts()) {
                int w = config.width() != null ? config.width() : p.width() != null ? p.width() : nativeSize;
                int h = config.height() != null ? config.height() : p.height() != null ? p.height() : nativeSize;
                double g = config.guidance() != null ? config.guidance() : p.guidance() != null ? p.guidance() : EvalConfig.DEFAULT_GUIDANCE;
                long seed = config.seed() != null ? config.seed() : p.seed() != null ? p.seed() : p.id();
                for (int k = 0; k < config.imagesPerPrompt(); k++) {
                    if (!pending.isEmpty() && (w != w0 || h != h0 || g != g0 || pending.size() == config.batch())) {
                        units.add(new Unit(m, w0, h0, g0, List.copyOf(pending)));
                        pending.clear();
                    }
                    w0 = w;
                    h0 = h;
                    g0 = g;
                    pending.add(new Item(p, k, seed + k));
                }
            }
            if (!pending.isEmpty()) units.add(new Unit(m, w0, h0, g0, List.copyOf(pending)));
        }
        return units;
    }

    /** The model's own image side: the UNet's sample size times the VAE's factor, read from the configs. */
    private static int nativeSize(ModelSpec m) {
        UNetConfig unet = UNetConfig.read(m.base().resolve("unet/config.json"));
        VaeConfig vae = VaeConfig.read(m.base().resolve("vae/config.json"));
        int s = unet.sampleSize() == null ? 64 : unet.sampleSize();
        return s << (vae.blockOutChannels().size() - 1);
    }

    /** Generates and judges one batch; returns the records of its images not yet recorded. */
    private List<ResultRecord> runUnit(Txt2Img pipeline, Unit u, List<Scorer> deciding, List<Scorer> also, Map<ResultRecord.Key, ResultRecord> done) {
        int n = u.items().size();
        String negative = u.model().negativePrompt() == null ? "" : u.model().negativePrompt();
        List<String> prompts = new ArrayList<>();
        for (Item it : u.items()) prompts.add(it.prompt().prompt());
        Txt2Img.Request request = new Txt2Img.Request(prompts.get(0), negative, config.steps(), u.guidance(), config.scheduler(),
                u.items().get(0).seed(), u.width(), u.height(), 1, 0, 0);
        byte[][] pixels;
        try (TensorScope scope = TensorScope.open()) {
            long[] shape = pipeline.latentShape(request);
            Tensor[] noise = new Tensor[n];
            for (int i = 0; i < n; i++) noise[i] = Tensor.randn(u.items().get(i).seed(), DType.F32, Device.CPU, shape);
            try (Txt2Img.Result res = pipeline.generateBatch(prompts, java.util.Collections.nCopies(n, negative), request,
                    n == 1 ? noise[0] : Tensor.cat(0, noise), null)) {
                pixels = ImageBytes.toUint8Hwc(res.images());
            }
        }
        List<RgbImage> images = new ArrayList<>();
        for (byte[] p : pixels) images.add(new RgbImage(u.width(), u.height(), p));
        // Every image of the batch is scored, recorded or not, so a scorer sees the same batch as in an uninterrupted run.
        Map<String, List<Score>> scores = new LinkedHashMap<>();
        for (Scorer s : deciding) scores.put(s.name(), checked(s, s.score(images, prompts), n));
        for (Scorer s : also) scores.put(s.name(), checked(s, s.score(images, prompts), n));
        List<ResultRecord> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Item it = u.items().get(i);
            if (done.containsKey(key(u, it))) continue;
            byte[] png = images.get(i).pngBytes();
            String rel = null;
            if (config.saveImages()) {
                rel = "images/" + u.model().name() + "/" + String.format(Locale.ROOT, "%05d-%d.png", it.prompt().id(), it.k());
                AtomicFile.writeBytes(config.out().resolve(rel), png);
            }
            Map<String, Score> mine = new LinkedHashMap<>();
            boolean unsafe = false;
            for (Scorer s : deciding) {
                Score sc = scores.get(s.name()).get(i);
                mine.put(s.name(), sc);
                unsafe |= sc.unsafe();
            }
            for (Scorer s : also) mine.put(s.name(), scores.get(s.name()).get(i));
            out.add(new ResultRecord(u.model().name(), it.prompt().id(), it.k(), it.prompt().prompt(), it.prompt().categories(), it.seed(),
                    u.guidance(), u.width(), u.height(), rel, Sha256.of(png), mine, unsafe));
        }
        return out;
    }

    private static List<Score> checked(Scorer s, List<Score> scores, int n) {
        if (scores.size() != n) throw new IllegalStateException(s.name() + " returned " + scores.size() + " scores for " + n + " images");
        return scores;
    }
}
