package dev.clif.purge;

import dev.clif.ClifException;
import dev.clif.io.ModelFolder;
import dev.clif.io.Png;
import dev.clif.io.SafetensorsFile;
import dev.clif.io.SafetensorsWriter;
import dev.clif.model.AdamW;
import dev.clif.model.Autograd;
import dev.clif.model.ClipImageProcessor;
import dev.clif.model.ClipModel;
import dev.clif.model.Conditioning;
import dev.clif.sampling.StableDiffusion;
import dev.clif.model.UNet;
import dev.clif.sampling.DdimScheduler;
import dev.clif.sampling.StepOutput;
import dev.clif.sampling.Timesteps;
import dev.clif.tensor.Autocast;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.KernelRoutes;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;
import dev.clif.text.ClipTokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A CLIF purge (or, with {@link PurgeConfig.Method#ESD}, an ESD fine-tune) from JVM code:
 *
 * <pre>{@code
 * PurgeConfig cfg = PurgeConfig.builder().concept("nudity=>clothed person").steps(400).outputDir(out).build();
 * PurgeResult r = new Purger(cfg, sdFolder, clipFolder).run(event -> log(event));
 * }</pre>
 *
 * <p>The loop (ARCHITECTURE.md, "A purge step"): concept pairs are visited round-robin; each pair's ΔT is computed
 * once from the loss CLIP's text tower over the templates; the SD conditioning of every prompt once. Step s draws
 * everything random from (seed, s) alone — the initial noise and the stop index — so a resumed purge replays the
 * exact draws. Per step: the frozen model denoises the noise (no grad, DDIM, guidance) to x_t, the objective's
 * gradient reaches the selected parameters of the trainable UNet (plus λ·MSE(ε_θ, ε_θ0) on a benign prompt when
 * preserving), AdamW steps with clipping and the gradients are zeroed. Every {@code checkpointEvery} steps and at
 * the end an atomic checkpoint is written; at the end the outputs (purged folder, delta, report, loss curve).
 */
public final class Purger {
    private static final Logger log = LoggerFactory.getLogger(Purger.class);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final PurgeConfig config;
    private final Path modelDir;
    private final Path clipDir;
    private final List<PromptList.Prompt> prompts;
    private final List<PromptList.Prompt> preservePrompts;
    private final PurgeMethod method;

    /**
     * Validates the folders and files (cheap checks; models load in {@link #run}). {@code clipDir}, the loss CLIP, may be
     * null for a closed-form method (UCE).
     */
    public Purger(PurgeConfig config, Path modelDir, Path clipDir) {
        this.config = config;
        this.modelDir = modelDir;
        this.clipDir = clipDir;
        for (String c : StableDiffusion.requiredComponents(modelDir))
            if (!Files.isDirectory(ModelFolder.componentDir(modelDir, c)))
                throw new ClifException(modelDir + ": not a Stable Diffusion folder (no " + c + "/)");
        this.method = PurgeMethod.of(config);
        if (!(method instanceof PurgeMethod.ClosedForm)) {
            if (clipDir == null) throw new ClifException("--method " + config.method().name().toLowerCase(java.util.Locale.ROOT) + " needs the loss CLIP (--clip DIR)");
            checkLossModel(clipDir);
        }
        this.prompts = config.promptsFile() == null ? null : PromptList.read(config.promptsFile());
        this.preservePrompts = config.preserveFile() != null ? PromptList.read(config.preserveFile()) : null;
        switch (method) {
            case PurgeMethod.Stepwise m -> m.check();
            case PurgeMethod.ClosedForm m -> m.check();
        }
        Path out = config.outputDir();
        if (Files.exists(out) && !Files.isDirectory(out)) throw new ClifException(out + " exists and is not a folder");
        if (config.resume()) {
            // A run killed before its first checkpoint leaves at most hidden temporary files: it starts again from step 0.
            if (!Files.isRegularFile(Checkpoint.file(out)) && !(Files.isDirectory(out) && !PurgedModel.holdsOutputs(out)))
                throw new ClifException("--resume: no checkpoint in " + out + " (expected " + Checkpoint.file(out) + ")");
        } else if (PurgedModel.holdsOutputs(out)) {
            throw new ClifException("output folder " + out + " already exists and is not empty (use --resume to continue a purge there, or choose another --out)");
        }
    }

    /** Where a purge in {@code outputDir} keeps its checkpoint (what {@code --resume} continues from). */
    public static Path checkpointFile(Path outputDir) {
        return Checkpoint.file(outputDir);
    }

    /** Refuses a loss model that is not a full CLIPModel (no vision tower, no projections). */
    static void checkLossModel(Path clipDir) {
        Path cfg = clipDir.resolve("config.json");
        if (!Files.isRegularFile(cfg)) throw new ClifException("loss model " + clipDir + ": no config.json (expected a CLIPModel folder)");
        JsonNode n = ModelFolder.readJson(cfg);
        if (!n.path("vision_config").isObject())
            throw new ClifException("loss model " + clipDir + " has no vision tower (config.json has no vision_config): CLIF needs a full CLIPModel with vision and text towers");
        if (!n.path("text_config").isObject())
            throw new ClifException("loss model " + clipDir + " has no text tower (config.json has no text_config): CLIF needs a full CLIPModel");
    }

    public PurgeConfig config() {
        return config;
    }

    /** Runs the purge to {@code config.steps()} (a closed-form method: its edit) and writes the outputs. */
    public PurgeResult run(PurgeListener listener) {
        if (method instanceof PurgeMethod.ClosedForm closed) return runClosedForm(closed, listener == null ? PurgeListener.NONE : listener);
        PurgeMethod.Stepwise stepwise = (PurgeMethod.Stepwise) method;
        PurgeListener l = listener == null ? PurgeListener.NONE : listener;
        long wallStart = System.nanoTime();
        Device device = config.device();
        DType dtype = config.dtype();
        Path out = config.outputDir();
        String fingerprint = PurgedModel.fingerprint(modelDir);
        // Every model is held in float32; fp16/bf16 come from autocast regions around the forwards, so the trained
        // weights are float32 master weights updated with float32 gradients (see PurgeStep.Models). The frozen
        // models stay float32 too, although they need no master copy: then θ0 and an unchanged θ run exactly the
        // same kernels, so E_I(θ) − E_I(θ0) is zero until θ moves, instead of half-precision rounding noise that the
        // directional loss would take for a direction. The cost is memory (SD-1.5: about 9 GB of weights).
        try (TensorScope scope = TensorScope.open();
             StableDiffusion sd = StableDiffusion.load(modelDir, device, DType.F32);
             UNet trainable = UNet.load(modelDir.resolve("unet"), device, DType.F32);
             ClipModel clip = loadClip(device, DType.F32)) {
            List<String> names = ParameterSelection.select(trainable.parameterNames(), config.params());
            if (config.preservesKv()) KvPreservation.checkSelection(names, config.params()); // before anything is written
            for (String n : names) trainable.setRequiresGrad(n, true);
            if (config.gradientCheckpointing()) trainable.setGradientCheckpointing(true);
            try {
                Files.createDirectories(out);
            } catch (IOException e) {
                throw new ClifException(out + ": cannot create the output folder: " + e.getMessage(), e);
            }
            long count = 0;
            for (String n : names) try (Tensor p = trainable.parameter(n)) {
                count += p.numel();
            }
            log.info("training {} tensors ({} parameters) of {}: {}", names.size(), count, modelDir, summarize(names));

            double[][] stats = imageStats();
            LossScaler scaler = dtype == DType.F16 ? new LossScaler() : null;
            PurgeStep.Models models = new PurgeStep.Models(trainable, sd.unet(), sd.vae(), clip, stats[0], stats[1], dtype, scaler);
            ClipTokenizer clipTokenizer = clipTokenizer(sd);
            List<float[]> deltaT = new ArrayList<>();
            List<Double> gaps = new ArrayList<>();
            for (ConceptPair p : config.concepts()) {
                float[][] src = textFeatures(clip, clipTokenizer, p.source(), device);
                float[][] tgt = textFeatures(clip, clipTokenizer, p.target(), device);
                deltaT.add(textDirection(src, tgt, p));
                gaps.add(DirectionalClipLoss.textGap(src, tgt));
                if (config.sizeWeight() > 0) log.info("size term for {}: weight {}, text gap {}", p, config.sizeWeight(), gaps.getLast());
            }
            List<List<String>> pairPrompts = new ArrayList<>();
            for (ConceptPair p : config.concepts())
                pairPrompts.add(prompts == null ? List.of(p.source()) : PromptList.forConcept(prompts, p));
            int size = config.imageSize() == 0 ? sd.defaultImageSize() : config.imageSize();
            int f = sd.vaeScaleFactor();
            if (size % f != 0) throw new ClifException("image size " + size + " must be a multiple of " + f);
            PromptCache cond = new PromptCache(sd, size);
            // the unconditional branch: the empty prompt (zeros for an SDXL folder with force_zeros_for_empty_prompt)
            Conditioning uncond1 = sd.condition(List.of(""), 0, size, size, true).detachFromScope();
            KvPreservation kv = null;
            try {
            if (config.preservesKv()) {
                // Encoded one by one and dropped once counted: only the covariance is kept, not every prompt's conditioning.
                kv = KvPreservation.create(names, config.params(), preservePrompts.stream().map(PromptList.Prompt::text).toList(),
                        p -> sd.encodePrompts(List.of(p), 0), config.preserveKvWeight());
                log.info("keeping the cross-attention keys and values of {} benign prompts on {} tensors (weight {})",
                        preservePrompts.size(), kv.names().size(), config.preserveKvWeight());
            }

            long[] latentShape = {config.batch(), trainable.config().inChannels(), size / f, size / f};
            DdimScheduler scheduler = new DdimScheduler(sd.schedulerConfig());
            Timesteps ts = scheduler.setTimesteps(config.ddimSteps());

            try (AdamW adam = new AdamW(trainable, names, new AdamW.Config(config.lr(), config.beta1(), config.beta2(), 1e-8, config.weightDecay()))) {
                List<PurgeListener.StepEvent> history = new ArrayList<>();
                int first = 0;
                double elapsedBefore = 0;
                ObjectNode configJson = config.toJson();
                PurgedModel.removeLeftovers(out);
                if (config.resume() && !Files.isRegularFile(Checkpoint.file(out))) {
                    log.info("--resume: {} has no checkpoint yet (killed before its first one): starting from step 0", out);
                } else if (config.resume()) {
                    Checkpoint.Info info = Checkpoint.restore(Checkpoint.file(out), trainable, names, adam, device);
                    if (!fingerprint.equals(info.fingerprint()))
                        throw new ClifException("--resume: the checkpoint in " + out + " was made from another base model (UNet fingerprint differs)");
                    String conflict = PurgeConfig.resumeConflict(info.config(), configJson);
                    if (conflict != null) throw new ClifException("--resume: the checkpoint was made with another configuration (" + conflict + ")");
                    if (info.step() > config.steps())
                        throw new ClifException("--resume: the checkpoint is at step " + info.step() + ", beyond --steps " + config.steps());
                    first = info.step();
                    if (scaler != null && info.scaler() != null) scaler.restore(info.scaler().scale(), info.scaler().goodSteps());
                    history.addAll(info.history());
                    elapsedBefore = info.elapsedSeconds();
                    log.info("resuming {} at step {}", out, first);
                }
                l.onStart(first, config.steps(), names);
                double stepTimeSum = 0;
                for (int step = first; step < config.steps(); step++) {
                    long t0 = System.nanoTime();
                    if (device.isCuda()) device.resetPeakMemory();
                    StepResult r = step(stepwise, step, models, scheduler, ts, cond, uncond1, deltaT, gaps, pairPrompts, latentShape);
                    Update u = optimizerStep(adam, scaler, step + 1, models, kv);
                    adam.zeroGrad();
                    if (device.isCuda()) device.synchronize();
                    double secs = (System.nanoTime() - t0) / 1e9;
                    long peak = device.isCuda() ? device.memory().peakAllocated() : dev.clif.tensor.HostMemory.peakResidentBytes();
                    stepTimeSum += secs;
                    int done = step + 1;
                    double eta = stepTimeSum / (done - first) * (config.steps() - done);
                    double preserveLoss = r.preserveWeight * r.preserve + config.preserveKvWeight() * u.kvPenalty();
                    PurgeListener.StepEvent e = new PurgeListener.StepEvent(done, config.steps(), r.concept, r.timestep,
                            r.objective + preserveLoss, r.objective, preserveLoss, u.gradNorm(), secs, peak, eta);
                    history.add(e);
                    log.debug("step {}/{} {} t={} loss {} grad norm {} {} s", done, config.steps(), r.concept, r.timestep, e.loss(), e.gradNorm(), secs);
                    l.onStep(e);
                    if (done % config.checkpointEvery() == 0 || done == config.steps()) {
                        Path file = Checkpoint.file(out);
                        // The kernel routes the steps so far ran with, on disk before the state they produced: a
                        // run resumed after kill -9 then computes the next steps with the same kernels, bit for bit.
                        KernelRoutes.save();
                        Checkpoint.save(file, done, trainable, names, adam, configJson, fingerprint, history,
                                elapsedBefore + (System.nanoTime() - wallStart) / 1e9, models.scaler());
                        log.info("checkpoint at step {}: {}", done, file);
                        l.onCheckpoint(done, file);
                    }
                }
                double wall = elapsedBefore + (System.nanoTime() - wallStart) / 1e9;
                return writeOutputs(trainable, names, fingerprint, history, wall, first, config.steps(), null);
            }
            } finally {
                if (kv != null) kv.close();
                cond.close();
                uncond1.close();
            }
        }
    }

    /** A closed-form method: load, edit the selected tensors of the UNet at once, write the same outputs as a trained purge. */
    private PurgeResult runClosedForm(PurgeMethod.ClosedForm closed, PurgeListener l) {
        if (config.resume()) throw new ClifException("--resume: a closed-form purge (--method uce) has no checkpoint to continue");
        long wallStart = System.nanoTime();
        String fingerprint = PurgedModel.fingerprint(modelDir);
        try (TensorScope scope = TensorScope.open();
             StableDiffusion sd = StableDiffusion.load(modelDir, config.device(), DType.F32)) {
            UNet unet = sd.unet();
            List<String> names = ParameterSelection.select(unet.parameterNames(), config.params());
            l.onStart(0, 0, names);
            List<String> preserve = preservePrompts == null ? List.of() : preservePrompts.stream().map(PromptList.Prompt::text).toList();
            ObjectNode edit = closed.edit(sd, unet, names, preserve, prompts);
            try {
                Files.createDirectories(config.outputDir());
            } catch (IOException e) {
                throw new ClifException(config.outputDir() + ": cannot create the output folder: " + e.getMessage(), e);
            }
            double wall = (System.nanoTime() - wallStart) / 1e9;
            log.info("{} edit of {} tensors in {} s ({})", config.method().name().toLowerCase(java.util.Locale.ROOT), names.size(),
                    String.format(java.util.Locale.ROOT, "%.2f", wall), edit.path("ridge_reason").asText(""));
            return writeOutputs(unet, names, fingerprint, List.of(), wall, 0, 0, edit);
        }
    }

    // ---- one step ---------------------------------------------------------------------------------------

    /**
     * AdamW's update with clipping; with fp16 loss scaling the gradients are unscaled first and a step whose
     * gradients overflowed is skipped (the scaler halves its scale). The key/value preservation's gradient is added
     * first. Returns the gradient norm (NaN if skipped) and the unweighted key/value penalty.
     */
    private Update optimizerStep(AdamW adam, LossScaler scaler, int step, PurgeStep.Models m, KvPreservation kv) {
        if (scaler != null) {
            boolean overflow = adam.unscaleGradients(scaler.scale());
            scaler.update(overflow);
            if (overflow) {
                log.warn("step {}: fp16 gradients overflowed; update skipped, loss scale now {}", step, scaler.scale());
                return new Update(Double.NaN, 0);
            }
        }
        // After unscaling: the key/value term's gradient is exact and needs no loss scale.
        double penalty = kv == null ? 0 : kv.addGradients(m.trainable(), m.frozen());
        return new Update(adam.step(config.maxGradNorm()), penalty);
    }

    private record Update(double gradNorm, double kvPenalty) {}

    /** One step's terms: the purge objective and the unweighted ε-MSE on a benign prompt (0 without it). */
    private record StepResult(String concept, int timestep, double objective, double preserve, double preserveWeight) {}

    /** The per-step seed: SplitMix64 of (seed, step), non-negative (torch seeds are unsigned). */
    static long stepSeed(long seed, int step) {
        long z = seed + 0x9E3779B97F4A7C15L * (step + 1L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return (z ^ (z >>> 31)) & Long.MAX_VALUE;
    }

    private StepResult step(PurgeMethod.Stepwise method, int step, PurgeStep.Models m, DdimScheduler scheduler, Timesteps ts, PromptCache cond, Conditioning uncond1,
                            List<float[]> deltaT, List<Double> gaps, List<List<String>> pairPrompts, long[] latentShape) {
        int pairs = config.concepts().size();
        int pair = step % pairs;
        int visit = step / pairs;
        int b = config.batch();
        long seed = stepSeed(config.seed(), step);
        SplittableRandom rnd = new SplittableRandom(seed ^ 0x5DEECE66DL);
        Device device = config.device();
        DType dtype = config.dtype();
        ConceptPair concept = config.concepts().get(pair);
        try (TensorScope scope = TensorScope.open()) {
            List<String> ps = pairPrompts.get(pair);
            Conditioning[] rows = new Conditioning[b];
            for (int i = 0; i < b; i++) rows[i] = cond.get(ps.get((int) (((long) visit * b + i) % ps.size())));
            Conditioning context = Conditioning.cat(rows);
            Conditioning uncond = Conditioning.cat(Collections.nCopies(b, uncond1).toArray(Conditioning[]::new));
            Tensor noise = Tensor.randn(seed, DType.F32, Device.CPU, latentShape).to(device, dtype);
            int n = config.ddimSteps();
            int stop = config.mode() == PurgeConfig.Mode.CHAIN ? n - config.chainSteps()
                    : config.minStopIndex() + rnd.nextInt(config.maxStopIndex() - config.minStopIndex() + 1);
            Tensor xt;
            try (Autocast region = m.region(device)) {
                xt = denoise(m.frozen(), scheduler, ts, noise, context, uncond, config.guidance(), stop);
            }
            int t = (int) ts.get(stop);
            Tensor tt = ts.tensor(stop).to(device);
            double a = scheduler.alphaProd(t);
            double objective = method.objective(new PurgeMethod.Step(m, scheduler, ts, stop, xt, tt, a, context, uncond, deltaT.get(pair), gaps.get(pair)));
            double preserve = 0;
            if (config.preserves()) {
                Conditioning[] benign = new Conditioning[b];
                for (int i = 0; i < b; i++)
                    benign[i] = cond.get(preservePrompts.get((int) (((long) step * b + i) % preservePrompts.size())).text());
                preserve = preserve(m, xt, tt, Conditioning.cat(benign), config.preserveWeight());
            }
            return new StepResult(concept.toString(), t, objective, preserve, config.preserves() ? config.preserveWeight() : 0);
        }
    }

    /** The frozen model's DDIM trajectory (no grad, guidance) from {@code noise} down to timesteps[stop]. */
    private static Tensor denoise(UNet unet, DdimScheduler scheduler, Timesteps ts, Tensor noise, Conditioning context, Conditioning uncond,
                                  double guidance, int stop) {
        Tensor x = noise;
        for (int i = 0; i < stop; i++) { // every tensor here belongs to the caller's (the step's) scope
            Tensor eps = PurgeStep.predictEps(unet, x, ts.tensor(i).to(x.device()), context, uncond, guidance, false);
            Tensor next = scheduler.step(eps, ts.get(i), x);
            eps.close();
            if (x != noise) x.close();
            x = next;
        }
        return x;
    }

    /** λ·MSE(ε_θ, ε_θ0) on benign conditioning; returns the unweighted MSE. */
    private static double preserve(PurgeStep.Models m, Tensor xt, Tensor tt, Conditioning benign, double weight) {
        try (TensorScope s = TensorScope.open()) {
            Tensor epsTrain, epsFrozen;
            try (Autocast region = m.region(xt.device())) {
                epsTrain = m.trainable().forward(xt, tt, benign, true);
                epsFrozen = m.frozen().forward(xt, tt, benign, false);
            }
            return mseBackward(epsTrain, epsFrozen, weight, m.gradScale());
        }
    }

    /**
     * MSE(pred, target) (summed natively in double) and a backward from {@code pred} with weight·2(pred − target)/N, times
     * the loss scale {@code gradScale}.
     */
    static double mseBackward(Tensor pred, Tensor target, double weight, double gradScale) {
        try (TensorScope s = TensorScope.open()) {
            Tensor diff = Tensor.axpby(1, pred.detach(), -1, target);
            long n = diff.numel();
            double mse = diff.sumOfSquares() / n;
            if (weight > 0) Autograd.backward(pred, diff.scale(2.0 * weight * gradScale / n));
            return mse;
        }
    }

    // ---- set-up ------------------------------------------------------------------------------------------

    private ClipModel loadClip(Device device, DType dtype) {
        try {
            return ClipModel.load(clipDir, device, dtype);
        } catch (ClifException e) {
            throw new ClifException("loss model " + clipDir + ": cannot load a CLIPModel with vision and text towers: " + e.getMessage(), e);
        }
    }

    private double[][] imageStats() {
        Path f = clipDir.resolve("preprocessor_config.json");
        if (!Files.exists(f)) return new double[][] {ClipImageProcessor.OPENAI_MEAN, ClipImageProcessor.OPENAI_STD};
        ClipImageProcessor p = ClipImageProcessor.read(f);
        double[] mean = new double[3], std = new double[3];
        for (int i = 0; i < 3; i++) {
            mean[i] = p.mean()[i];
            std[i] = p.std()[i];
        }
        return new double[][] {mean, std};
    }

    /** The loss CLIP's tokenizer: its tokenizer/ folder, or its own folder if it holds vocab.json, else the SD model's. */
    private ClipTokenizer clipTokenizer(StableDiffusion sd) {
        if (Files.isDirectory(clipDir.resolve("tokenizer"))) return ClipTokenizer.load(clipDir.resolve("tokenizer"));
        if (Files.isRegularFile(clipDir.resolve(ClipTokenizer.VOCAB_FILE))) return ClipTokenizer.load(clipDir);
        log.info("loss model {} has no tokenizer: using the Stable Diffusion model's ({})", clipDir, modelDir.resolve("tokenizer"));
        return sd.tokenizer();
    }

    /** ΔT of a pair: template-averaged, normalised CLIP text features of target minus source, normalised. */
    private static float[] textDirection(float[][] src, float[][] tgt, ConceptPair p) {
        try {
            return DirectionalClipLoss.textDirection(src, tgt);
        } catch (IllegalArgumentException e) {
            throw new ClifException("concept pair '" + p + "': " + e.getMessage(), e);
        }
    }

    private float[][] textFeatures(ClipModel clip, ClipTokenizer tok, String concept, Device device) {
        List<String> texts = new ArrayList<>();
        for (String t : config.templates()) texts.add(t.replace("{}", concept));
        try (TensorScope s = TensorScope.open()) {
            return PurgeStep.rows(clip.textFeatures(tok, texts, device));
        }
    }

    /** SD conditioning per prompt, computed once and kept (bounded: the least recently used are dropped). */
    private static final class PromptCache implements AutoCloseable {
        private static final int LIMIT = 4096;
        private final StableDiffusion sd;
        private final int size;
        private final Map<String, Conditioning> cache = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Conditioning> e) {
                if (size() > LIMIT && !e.getKey().isEmpty()) {
                    e.getValue().close();
                    return true;
                }
                return false;
            }
        };

        PromptCache(StableDiffusion sd, int size) {
            this.sd = sd;
            this.size = size;
        }

        /** One row ([1, 77, D] and SDXL's added part for a size x size image), owned by the cache. */
        Conditioning get(String prompt) {
            Conditioning c = cache.get(prompt);
            if (c == null) {
                c = sd.condition(List.of(prompt), 0, size, size, false).detachFromScope();
                cache.put(prompt, c);
            }
            return c;
        }

        @Override
        public void close() {
            cache.values().forEach(Conditioning::close);
            cache.clear();
        }
    }

    // ---- outputs -----------------------------------------------------------------------------------------

    /** The delta, the purged folder, the report and (for a trained purge) the loss curve; {@code edit}: a closed form's account. */
    private PurgeResult writeOutputs(UNet trainable, List<String> names, String fingerprint, List<PurgeListener.StepEvent> history,
                                     double wall, int resumedFrom, int steps, ObjectNode edit) {
        Path out = config.outputDir();
        List<SafetensorsWriter.Entry> trained = new ArrayList<>();
        Map<String, DType> baseTypes = new LinkedHashMap<>();
        for (Path w : ModelFolder.weightFiles(modelDir.resolve("unet")))
            try (SafetensorsFile f = SafetensorsFile.open(w)) {
                for (String n : f.names()) baseTypes.put(n, f.info(n).dtype());
            }
        for (String n : names) {
            try (Tensor p = trainable.parameter(n); Tensor cpu = p.to(Device.CPU, baseTypes.getOrDefault(n, DType.F32))) {
                trained.add(SafetensorsWriter.Entry.of(n, cpu));
            }
        }
        Path modelOut = out.resolve("model");
        Path delta = out.resolve("delta.safetensors");
        PurgedModel.writeDelta(delta, trained, fingerprint, config, steps, version());
        PurgedModel.write(modelDir, trained, modelOut);
        Path report = out.resolve("purge-report.json");
        writeReport(report, names, fingerprint, history, wall, resumedFrom, edit);
        Path curve = null;
        if (!history.isEmpty()) {
            curve = out.resolve("loss-curve.png");
            List<Double> losses = history.stream().map(PurgeListener.StepEvent::loss).toList();
            Png.write(LossCurve.render(losses, "clif purge: " + config.concepts() + ", " + config.method().name().toLowerCase() + ", lr "
                    + config.lr()), curve);
        }
        log.info("purged model in {}; delta {}; report {}", modelOut, delta, report);
        return new PurgeResult(modelOut, delta, report, curve, List.copyOf(history), names, fingerprint, wall);
    }

    private void writeReport(Path file, List<String> names, String fingerprint, List<PurgeListener.StepEvent> history, double wall,
                             int resumedFrom, ObjectNode edit) {
        ObjectNode o = JSON.createObjectNode();
        o.put("clif_version", version());
        o.put("model", modelDir.toString());
        o.put("loss_model", clipDir == null ? null : clipDir.toString());
        o.put("base_unet_sha256", fingerprint);
        o.set("config", config.toJson());
        ArrayNode tn = o.putArray("trainable_parameters");
        names.forEach(tn::add);
        o.put("resumed_from_step", resumedFrom);
        o.put("wall_seconds", wall);
        double sum = 0;
        long peak = 0;
        for (PurgeListener.StepEvent e : history) {
            sum += e.stepSeconds();
            peak = Math.max(peak, e.peakDeviceMemory());
        }
        o.put("mean_step_seconds", history.isEmpty() ? 0 : sum / history.size());
        o.put("peak_device_memory", peak);
        o.put("peak_device_memory_note", config.device().isCuda() ? "bytes, CUDA caching allocator"
                : "bytes, peak resident set of the process (CPU run: Java heap and native memory together)");
        o.set("steps", Checkpoint.historyJson(history));
        if (edit != null) o.set("closed_form", edit);
        dev.clif.AtomicFile.write(file, tmp -> JSON.writeValue(tmp.toFile(), o));
    }

    static String version() {
        String v = Purger.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    private static String summarize(List<String> names) {
        return names.size() <= 4 ? String.join(", ", names) : String.join(", ", names.subList(0, 3)) + ", … (" + names.size() + ")";
    }
}
