package dev.clif.attack;

import dev.clif.ClifException;
import dev.clif.eval.EvalConfig;
import dev.clif.eval.EvalListener;
import dev.clif.eval.EvalPrompt;
import dev.clif.eval.Evaluation;
import dev.clif.eval.ModelSpec;
import dev.clif.eval.PromptSet;
import dev.clif.eval.PromptSetReader;
import dev.clif.eval.ResultsLog;
import dev.clif.eval.ScorerSet;
import dev.clif.AtomicFile;
import dev.clif.sampling.StableDiffusion;
import dev.clif.sampling.Txt2Img;
import dev.clif.tensor.DType;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;
import dev.clif.text.ClipTokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * {@code clif attack}: searches, for each prompt and each attacked model, a prompt that brings the purged concept back
 * ({@link RingABell} or {@link UnlearnDiff}), then generates with the original and the found prompts through the eval
 * engine and reports, per model and category, the flagged share before and after and the attack success rate. Output:
 * <pre>
 *   found/NAME.jsonl          one line per finished prompt ({@link FoundPrompt}; --resume continues at the next prompt)
 *   eval/NAME/prompts.jsonl   the originals (their ids) and the found prompts (id + {@value #FOUND_ID_OFFSET}), same seeds
 *   eval/NAME/…               the eval engine's folder (manifest, results.jsonl, summary.json, images)
 *   attack.json               {"method", "settings", "models": {NAME: {"pre_rate", "post_rate", "asr", "prompts", …}}}
 * </pre>
 */
public final class Attack {
    /** Added to a prompt's id for its found prompt in the evaluation. */
    public static final int FOUND_ID_OFFSET = 100_000_000;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final ObjectMapper LINE = new ObjectMapper();

    /** What the attack tells its caller while it runs; every method optional. */
    public interface Listener {
        default void onMessage(String message) {}

        /** Prompt {@code prompt} of {@code prompts} for {@code model}: {@code iteration} of {@code iterations} done. */
        default void onSearch(String model, int prompt, int prompts, int iteration, int iterations) {}

        default EvalListener eval() {
            return new EvalListener() {};
        }
    }

    /** What a run produced. */
    public record Report(Path attackJson, Map<String, AttackRates> rates, Map<String, List<FoundPrompt>> found) {}

    private final AttackConfig config;
    /** Ring-A-Bell reads only the text encoder, which the purges leave alone: one search per base and prompt. */
    private final Map<Path, Map<Integer, FoundPrompt>> ringABellByBase = new HashMap<>();
    /** UnlearnDiff's target latents per reference model and prompt, drawn once. */
    private final Map<String, Map<Integer, float[]>> targets = new HashMap<>();

    public Attack(AttackConfig config) {
        this.config = config;
    }

    public Report run(Listener listener) {
        Listener say = listener == null ? new Listener() {} : listener;
        PromptSet set = PromptSetReader.read(config.prompts(), config.filter());
        say.onMessage(set.describe());
        if (set.prompts().isEmpty()) throw new ClifException(config.prompts() + ": no prompt left to attack after the filters");
        for (EvalPrompt p : set.prompts())
            if (p.id() >= FOUND_ID_OFFSET) throw new ClifException(config.prompts() + ":" + p.line() + ": prompt id " + p.id() + " is too large (ids below "
                    + FOUND_ID_OFFSET + ")");
        refuseExistingOutput();
        try (ScorerSet ignored = ScorerSet.open(evalConfig(config.models().get(0), config.prompts(), config.out().resolve("eval"), false))) {
            // the scorers are refused now, before hours of searching, not after
        }
        List<String[]> pairs = config.method() == AttackConfig.Method.RING_A_BELL ? conceptPairs(set) : List.of();
        createOutput(); // only once everything refusable was checked
        Map<String, List<FoundPrompt>> found = new LinkedHashMap<>();
        for (ModelSpec model : config.models()) found.put(model.name(), search(model, set, pairs, say));
        Map<String, AttackRates> rates = new LinkedHashMap<>();
        for (ModelSpec model : config.models()) rates.put(model.name(), evaluate(model, set, found.get(model.name()), say));
        Path json = config.out().resolve("attack.json");
        writeJson(json, set, rates, found);
        return new Report(json, rates, found);
    }

    private void refuseExistingOutput() {
        Path out = config.out();
        if (!config.resume() && (Files.exists(out.resolve("attack.json")) || Files.exists(out.resolve("found"))))
            throw new ClifException(out + " holds an attack: pass --resume to continue it, or choose a new --out");
    }

    private void createOutput() {
        Path out = config.out();
        try {
            Files.createDirectories(out.resolve("found"));
        } catch (IOException e) {
            throw new ClifException(out + ": cannot create: " + e.getMessage(), e);
        }
    }

    // ---- search ------------------------------------------------------------------------------------------

    private List<FoundPrompt> search(ModelSpec model, PromptSet set, List<String[]> pairs, Listener say) {
        Path file = config.out().resolve("found").resolve(model.name() + ".jsonl");
        Map<Integer, FoundPrompt> done = new LinkedHashMap<>();
        if (config.resume()) for (FoundPrompt f : FoundPromptLog.read(file)) done.put(f.promptId(), f);
        List<EvalPrompt> todo = set.prompts().stream().filter(p -> !done.containsKey(p.id())).toList();
        if (!done.isEmpty()) say.onMessage(model.name() + ": resuming: " + done.size() + " of " + set.prompts().size() + " prompts already searched");
        if (!todo.isEmpty()) {
            say.onMessage("attacking " + model.name() + " (" + model.spec() + ") with " + config.method().label + ": " + todo.size() + " prompts");
            if (config.method() == AttackConfig.Method.UNLEARNDIFF) drawTargets(referenceFor(model), todo, say); // before, not beside, the attacked model
            try (FoundPromptLog log = FoundPromptLog.open(file, config.resume()); StableDiffusion sd = model.load(config.device(), DType.F32)) {
                Searcher searcher = searcher(model, sd, pairs, say);
                int index = done.size();
                for (EvalPrompt p : todo) {
                    final int at = ++index;
                    long start = System.nanoTime();
                    FoundPrompt f = searcher.find(p, it -> say.onSearch(model.name(), at, set.prompts().size(), it, config.iterations()), start);
                    log.append(f);
                    done.put(p.id(), f);
                }
            }
        }
        List<FoundPrompt> ordered = new ArrayList<>();
        for (EvalPrompt p : set.prompts()) ordered.add(done.get(p.id()));
        return ordered;
    }

    private interface Searcher {
        FoundPrompt find(EvalPrompt p, java.util.function.IntConsumer progress, long startNanos);
    }

    private Searcher searcher(ModelSpec model, StableDiffusion sd, List<String[]> pairs, Listener say) {
        ClipTokenizer tok = sd.tokenizer();
        int vocab = Math.toIntExact(sd.textEncoder().config().vocabSize());
        int[] vocabulary = RingABell.ordinaryIds(tok, vocab);
        if (config.method() == AttackConfig.Method.RING_A_BELL) {
            RingABell rab = new RingABell(sd.textEncoder(), tok);
            float[] vector = rab.conceptVector(pairs);
            say.onMessage("Ring-A-Bell concept vector from " + pairs.size() + " pairs, norm " + String.format(Locale.ROOT, "%.4f", norm(vector)));
            Map<Integer, FoundPrompt> shared = ringABellByBase.computeIfAbsent(model.base().toAbsolutePath().normalize(), b -> new HashMap<>());
            return (p, progress, start) -> shared.computeIfAbsent(p.id(), id -> {
                RingABell.Settings s = new RingABell.Settings(config.tokens(), config.population(), config.iterations(), config.mutationRate(),
                        config.crossoverRate(), config.searchSeed() * 1_000_003L + p.id(), vocabulary);
                RingABell.Result r = rab.search(rab.target(p.prompt(), vector, config.eta()), s, progress);
                String text = tok.decode(r.ids());
                return new FoundPrompt(p.id(), p.prompt(), p.categories(), text, r.ids(), r.ids(), r.initialFitness(), r.fitness(),
                        roundTrip(tok, text, r.ids()), (System.nanoTime() - start) / 1e9);
            });
        }
        if (config.method() == AttackConfig.Method.RANDOM) {
            return (p, progress, start) -> {
                java.util.SplittableRandom rng = new java.util.SplittableRandom(config.searchSeed() * 1_000_003L + p.id());
                int[] prefix = new int[config.tokens()];
                for (int k = 0; k < prefix.length; k++) prefix[k] = vocabulary[rng.nextInt(vocabulary.length)];
                int[] body = body(tok, p.prompt());
                int[] ids = new int[prefix.length + body.length];
                System.arraycopy(prefix, 0, ids, 0, prefix.length);
                System.arraycopy(body, 0, ids, prefix.length, body.length);
                String text = (tok.decode(prefix) + " " + p.prompt().strip()).strip();
                progress.accept(1);
                return new FoundPrompt(p.id(), p.prompt(), p.categories(), text, ids, prefix, Double.NaN, Double.NaN, roundTrip(tok, text, ids),
                        (System.nanoTime() - start) / 1e9);
            };
        }
        UnlearnDiff attack = new UnlearnDiff(sd);
        ModelSpec reference = referenceFor(model);
        return (p, progress, start) -> {
            int[] body = body(tok, p.prompt());
            try (TensorScope scope = TensorScope.open()) {
                float[] latent = targets.get(reference.spec()).get(p.id());
                long[] shape = latentShape(sd, p);
                Tensor x0 = Tensor.of(latent, shape).to(config.device());
                UnlearnDiff.Settings s = new UnlearnDiff.Settings(config.tokens(), config.iterations(), config.lr(), config.weightDecay(),
                        config.searchSeed() * 1_000_003L + p.id(), vocabulary);
                UnlearnDiff.Result r = attack.search(body, x0, s, progress);
                int[] ids = new int[r.prefix().length + body.length];
                System.arraycopy(r.prefix(), 0, ids, 0, r.prefix().length);
                System.arraycopy(body, 0, ids, r.prefix().length, body.length);
                String text = (tok.decode(r.prefix()) + " " + p.prompt().strip()).strip();
                return new FoundPrompt(p.id(), p.prompt(), p.categories(), text, ids, r.prefix(), r.initialLoss(), r.finalLoss(),
                        roundTrip(tok, text, ids), (System.nanoTime() - start) / 1e9);
            }
        };
    }

    private static double norm(float[] v) {
        double s = 0;
        for (float x : v) s += (double) x * x;
        return Math.sqrt(s);
    }

    static int[] body(ClipTokenizer tok, String prompt) {
        int[] all = tok.encode(prompt);
        return Arrays.copyOfRange(all, 1, all.length - 1);
    }

    static boolean roundTrip(ClipTokenizer tok, String text, int[] ids) {
        return Arrays.equals(body(tok, text), ids);
    }

    private long[] latentShape(StableDiffusion sd, EvalPrompt p) {
        int size = sd.defaultImageSize();
        int w = p.width() != null ? p.width() : size, h = p.height() != null ? p.height() : size;
        int f = sd.vaeScaleFactor();
        return new long[] {1, sd.unet().config().inChannels(), h / f, w / f};
    }

    private ModelSpec referenceFor(ModelSpec model) {
        return config.referenceModel() != null ? config.referenceModel()
                : new ModelSpec(model.name() + "-reference", model.base().toString(), model.base(), null, null);
    }

    /**
     * The images the reference model draws for the prompts, with the eval's seed, guidance, size and steps: their final
     * latents, cached per reference and prompt. The reference is loaded once, and only when some target is missing.
     */
    private void drawTargets(ModelSpec reference, List<EvalPrompt> prompts, Listener say) {
        Map<Integer, float[]> cache = targets.computeIfAbsent(reference.spec(), k -> new HashMap<>());
        List<EvalPrompt> missing = prompts.stream().filter(p -> !cache.containsKey(p.id())).toList();
        if (missing.isEmpty()) return;
        say.onMessage("drawing " + missing.size() + " target images with " + reference.spec());
        try (StableDiffusion ref = reference.load(config.device(), DType.F32)) {
            Txt2Img pipeline = new Txt2Img(ref, reference.sld());
            for (EvalPrompt p : missing)
                try (TensorScope scope = TensorScope.open()) {
                    long[] shape = latentShape(ref, p);
                    int f = ref.vaeScaleFactor();
                    Txt2Img.Request req = new Txt2Img.Request(p.prompt(), reference.negativePrompt() == null ? "" : reference.negativePrompt(),
                            config.steps(), p.guidance() != null ? p.guidance() : EvalConfig.DEFAULT_GUIDANCE, null, seedOf(p),
                            (int) shape[3] * f, (int) shape[2] * f, 1, 0, 0);
                    try (Txt2Img.Result r = pipeline.generate(req, null)) {
                        cache.put(p.id(), r.latents().toFloatArray());
                    }
                }
        }
    }

    private long seedOf(EvalPrompt p) {
        return config.seed() != null ? config.seed() : p.seed() != null ? p.seed() : p.id();
    }

    /** Ring-A-Bell's pairs: the file's, or each prompt mentioning the concept word against the same prompt without it. */
    private List<String[]> conceptPairs(PromptSet set) {
        List<String[]> pairs = new ArrayList<>();
        if (config.conceptPairs() != null) {
            List<String> lines;
            try {
                lines = Files.readAllLines(config.conceptPairs(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new ClifException(config.conceptPairs() + ": cannot read: " + e.getMessage(), e);
            }
            for (int i = 0; i < lines.size(); i++) {
                String l = lines.get(i).strip();
                if (l.isEmpty() || l.startsWith("#")) continue;
                int at = l.indexOf("=>");
                if (at < 0) throw new ClifException(config.conceptPairs() + ":" + (i + 1) + ": expected 'WITH CONCEPT => WITHOUT', got '" + l + "'");
                pairs.add(new String[] {l.substring(0, at).strip(), l.substring(at + 2).strip()});
            }
            if (pairs.isEmpty()) throw new ClifException(config.conceptPairs() + ": no pairs");
            return pairs;
        }
        Pattern word = Pattern.compile("(?i)\\b" + Pattern.quote(config.concept().strip()) + "\\b");
        for (EvalPrompt p : set.prompts())
            if (word.matcher(p.prompt()).find())
                pairs.add(new String[] {p.prompt(), word.matcher(p.prompt()).replaceAll("").replaceAll("\\s+", " ").strip()});
        if (pairs.isEmpty())
            throw new ClifException("--concept '" + config.concept() + "': no prompt of " + config.prompts() + " mentions it (give --concept-pairs FILE)");
        return pairs;
    }

    // ---- evaluation ------------------------------------------------------------------------------------

    private EvalConfig evalConfig(ModelSpec model, Path prompts, Path out, boolean resume) {
        EvalConfig.Builder b = EvalConfig.builder().prompts(prompts).model(model).imagesPerPrompt(config.imagesPerPrompt()).steps(config.steps())
                .device(config.device()).batch(config.batch()).out(out).resume(resume);
        config.scorers().forEach(b::scorer);
        return b.build();
    }

    private AttackRates evaluate(ModelSpec model, PromptSet set, List<FoundPrompt> found, Listener say) {
        Path dir = config.out().resolve("eval").resolve(model.name());
        Path prompts = dir.resolve("prompts.jsonl");
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < set.prompts().size(); i++) {
            EvalPrompt p = set.prompts().get(i);
            lines.append(line(p.id(), p.prompt(), p)).append('\n');
            lines.append(line(p.id() + FOUND_ID_OFFSET, found.get(i).text(), p)).append('\n');
        }
        AtomicFile.writeBytes(prompts, lines.toString().getBytes(StandardCharsets.UTF_8));
        boolean resume = config.resume() && Files.exists(dir.resolve("results.jsonl"));
        say.onMessage(model.name() + ": generating from " + set.prompts().size() + " original and " + found.size() + " found prompts");
        new Evaluation(evalConfig(model, prompts, dir, resume)).run(say.eval());
        return AttackRates.compute(ResultsLog.read(dir.resolve("results.jsonl")), set.prompts().stream().map(EvalPrompt::id).toList());
    }

    private String line(int id, String text, EvalPrompt p) {
        ObjectNode o = LINE.createObjectNode();
        o.put("id", id);
        o.put("prompt", text);
        var cats = o.putArray("categories");
        p.categories().forEach(cats::add);
        o.put("seed", seedOf(p)); // the found prompt is judged on the original's seeds
        if (p.guidance() != null) o.put("guidance", p.guidance());
        if (p.width() != null) o.put("width", p.width());
        if (p.height() != null) o.put("height", p.height());
        try {
            return LINE.writeValueAsString(o);
        } catch (IOException e) {
            throw new ClifException("cannot write a prompt line: " + e.getMessage(), e);
        }
    }

    private void writeJson(Path file, PromptSet set, Map<String, AttackRates> rates, Map<String, List<FoundPrompt>> found) {
        ObjectNode root = JSON.createObjectNode();
        root.put("method", config.method().label);
        ObjectNode s = root.putObject("settings");
        s.put("tokens", config.tokens());
        s.put("iterations", config.iterations());
        if (config.method() == AttackConfig.Method.RING_A_BELL) {
            s.put("population", config.population());
            s.put("mutation_rate", config.mutationRate());
            s.put("crossover_rate", config.crossoverRate());
            s.put("eta", config.eta());
            if (config.concept() != null) s.put("concept", config.concept());
            if (config.conceptPairs() != null) s.put("concept_pairs", config.conceptPairs().toString());
        } else {
            s.put("lr", config.lr());
            s.put("weight_decay", config.weightDecay());
            s.put("reference_model", config.referenceModel() == null ? "each model's base" : config.referenceModel().spec());
        }
        s.put("search_seed", config.searchSeed());
        s.put("images_per_prompt", config.imagesPerPrompt());
        s.put("steps", config.steps());
        var sc = s.putArray("scorers");
        config.scorers().forEach(sc::add);
        root.put("prompts_file", config.prompts().toString());
        root.put("prompt_set", set.describe());
        ObjectNode models = root.putObject("models");
        Map<Path, String> firstWithBase = new HashMap<>();
        for (ModelSpec spec : config.models()) firstWithBase.putIfAbsent(spec.base().toAbsolutePath().normalize(), spec.name());
        for (var e : rates.entrySet()) {
            ObjectNode m = e.getValue().toJson(JSON);
            List<FoundPrompt> f = found.get(e.getKey());
            m.put("round_trip", f.stream().filter(FoundPrompt::roundTrip).count());
            ModelSpec spec = config.models().stream().filter(x -> x.name().equals(e.getKey())).findFirst().orElseThrow();
            String first = firstWithBase.get(spec.base().toAbsolutePath().normalize());
            if (config.method() == AttackConfig.Method.RING_A_BELL && !first.equals(e.getKey()))
                m.put("search_shared_with", first); // the same text encoder: its prompts (and their seconds) are that model's
            m.put("search_seconds", f.stream().mapToDouble(FoundPrompt::seconds).sum());
            m.put("found", "found/" + e.getKey() + ".jsonl");
            m.put("eval", "eval/" + e.getKey());
            models.set(e.getKey(), m);
        }
        AtomicFile.write(file, tmp -> JSON.writeValue(tmp.toFile(), root));
    }

    /** A table of the figures: model, prompts, pre rate, post rate, pre ASR, ASR. */
    public static String table(Map<String, AttackRates> rates) {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%-16s %8s %9s %10s %8s %6s%n", "model", "prompts", "pre_rate", "post_rate", "pre_asr", "asr"));
        rates.forEach((name, r) -> b.append(String.format(Locale.ROOT, "%-16s %8d %9.3f %10.3f %8.3f %6.3f%n", name, r.overall().prompts(),
                r.overall().preRate(), r.overall().postRate(), r.overall().preAsr(), r.overall().asr())));
        return b.toString();
    }
}
