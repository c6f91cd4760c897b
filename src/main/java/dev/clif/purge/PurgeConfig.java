package dev.clif.purge;

import dev.clif.ClifException;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Everything a purge needs to know besides the model folders. Build one with {@link #builder()}; every value has
 * a default except the concepts and the output folder.
 *
 * <p>Where x_t comes from: a DDIM trajectory of {@link #ddimSteps} steps (timesteps[0] noisiest). In
 * {@link Mode#ONE_STEP} a stop index k is drawn uniformly in [{@link #minStopIndex}, {@link #maxStopIndex}]; the
 * frozen model denoises pure (seeded) noise without gradient for k steps with its own guidance
 * {@link #guidance}, and the CLIF step runs at timesteps[k]. In {@link Mode#CHAIN} the frozen model denoises down to
 * index ddimSteps − K, then both models run the last K steps (the trainable one with gradient) and the loss is taken
 * on the final x̂0.
 */
public record PurgeConfig(
        List<ConceptPair> concepts,
        Path promptsFile,
        List<String> templates,
        Method method,
        int steps,
        double lr,
        double beta1,
        double beta2,
        double weightDecay,
        double maxGradNorm,
        List<String> params,
        Mode mode,
        int chainSteps,
        int ddimSteps,
        int minStopIndex,
        int maxStopIndex,
        double guidance,
        double trainGuidance,
        double esdEta,
        int batch,
        long seed,
        Device device,
        DType dtype,
        boolean gradientCheckpointing,
        int checkpointEvery,
        Path preserveFile,
        double preserveWeight,
        double preserveKvWeight,
        double sizeWeight,
        double ucePreserveScale,
        double uceRidge,
        int imageSize,
        Path outputDir,
        boolean resume) {

    /** The objective. */
    public enum Method {
        /** Directional CLIP loss (the default). */
        CLIF,
        /** Erased Stable Diffusion: ε_θ(x_t, c) regressed onto ε_θ0(x_t, "") − η(ε_θ0(x_t, c) − ε_θ0(x_t, "")). */
        ESD,
        /** Unified Concept Editing: a closed-form edit of the cross-attention keys and values ({@link UceMethod}). */
        UCE;

        public static Method parse(String s) {
            return switch (s.strip().toLowerCase(Locale.ROOT)) {
                case "clif" -> CLIF;
                case "esd" -> ESD;
                case "uce" -> UCE;
                default -> throw new ClifException("unknown method '" + s + "' (use clif, esd or uce)");
            };
        }
    }

    /** How x_t is produced (see the class comment). */
    public enum Mode {
        ONE_STEP("one-step"),
        CHAIN("chain");

        public final String label;

        Mode(String label) {
            this.label = label;
        }

        public static Mode parse(String s) {
            return switch (s.strip().toLowerCase(Locale.ROOT)) {
                case "one-step", "onestep", "one_step" -> ONE_STEP;
                case "chain" -> CHAIN;
                default -> throw new ClifException("unknown mode '" + s + "' (use one-step or chain)");
            };
        }
    }

    /** StyleGAN-NADA / CLIP-style prompt templates the text direction is averaged over. */
    public static final List<String> DEFAULT_TEMPLATES = List.of(
            "a photo of {}.", "a rendering of {}.", "a cropped photo of the {}.", "the photo of a {}.",
            "a photo of a clean {}.", "a photo of a dirty {}.", "a dark photo of the {}.", "a photo of my {}.",
            "a photo of the cool {}.", "a close-up photo of a {}.", "a bright photo of the {}.", "a cropped photo of a {}.",
            "a photo of the {}.", "a good photo of the {}.", "a photo of one {}.", "a close-up photo of the {}.",
            "a rendition of the {}.", "a photo of the clean {}.", "a rendition of a {}.", "a photo of a nice {}.",
            "a good photo of a {}.", "a photo of the nice {}.", "a photo of the small {}.", "a photo of the weird {}.",
            "a photo of the large {}.", "a photo of a cool {}.", "a photo of a small {}.");

    /**
     * The default learning rate, 1e-5: the AdamW rate ESD (Gandikota et al. 2023) uses to fine-tune SD 1.x
     * cross-attention, the closest published setting to CLIF's (same models, same parameter family). The directional
     * loss is scale-free, so the rate only sets how fast the images move (AdamW's per-weight step is about lr).
     * Until the trainable model's image embeddings differ from the frozen one's by more than
     * {@link DirectionalClipLoss#TIE_EPS} the loss is the tie-break's (1, moving e along ΔT); with 1e-5 on the tiny
     * random test models that takes most of 40 steps, so the tiny-model tests use 1e-3.
     */
    public static final double DEFAULT_LR = 1e-5;

    public PurgeConfig {
        if (concepts == null || concepts.isEmpty()) throw new ClifException("no concept to purge (give at least one --concept \"SOURCE=>TARGET\")");
        concepts = List.copyOf(concepts);
        templates = templates == null || templates.isEmpty() ? DEFAULT_TEMPLATES : List.copyOf(templates);
        for (String t : templates)
            if (!t.contains("{}")) throw new ClifException("template '" + t + "' has no '{}' where the concept goes");
        if (method == null) method = Method.CLIF;
        if (mode == null) mode = Mode.ONE_STEP;
        params = params == null || params.isEmpty() ? List.of("xattn-kv") : List.copyOf(params);
        if (device == null) device = Device.CPU;
        if (dtype == null) dtype = DType.F32;
        if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16)
            throw new ClifException("--dtype " + dtype + " is not supported for a purge (use fp32, fp16 or bf16)");
        // fp16/bf16 are autocast over float32 master weights; libtorch's CPU autocast knows bf16 only.
        if (dtype == DType.F16 && device.isCpu())
            throw new ClifException("--dtype fp16 needs a CUDA device (libtorch's CPU autocast runs bf16 only): use --dtype bf16 or fp32 on the CPU");
        positive("steps", steps);
        if (!(lr > 0) || !Double.isFinite(lr)) throw new ClifException("--lr must be a positive number, got " + lr);
        if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) throw new ClifException("betas must lie in [0, 1), got " + beta1 + ", " + beta2);
        if (!(weightDecay >= 0)) throw new ClifException("weight decay must be >= 0, got " + weightDecay);
        if (!(maxGradNorm >= 0)) throw new ClifException("max grad norm must be >= 0 (0 disables clipping), got " + maxGradNorm);
        positive("DDIM steps", ddimSteps);
        if (ddimSteps > 1000) throw new ClifException("DDIM steps must be at most 1000, got " + ddimSteps);
        if (minStopIndex < 0 || maxStopIndex < minStopIndex || maxStopIndex >= ddimSteps)
            throw new ClifException("stop index range [" + minStopIndex + ", " + maxStopIndex + "] must satisfy 0 <= min <= max < DDIM steps (" + ddimSteps + ")");
        if (mode == Mode.CHAIN && (chainSteps < 1 || chainSteps > ddimSteps))
            throw new ClifException("--chain-steps must lie in [1, " + ddimSteps + "], got " + chainSteps);
        if (!(guidance >= 0) || !Double.isFinite(guidance)) throw new ClifException("guidance must be a finite number >= 0, got " + guidance);
        if (!(trainGuidance >= 0) || !Double.isFinite(trainGuidance)) throw new ClifException("training guidance must be a finite number >= 0, got " + trainGuidance);
        if (!Double.isFinite(esdEta)) throw new ClifException("ESD eta must be finite");
        positive("batch", batch);
        positive("checkpoint interval", checkpointEvery);
        if (!(preserveWeight >= 0) || !Double.isFinite(preserveWeight)) throw new ClifException("--preserve-weight must be a finite number >= 0");
        if (!(preserveKvWeight >= 0) || !Double.isFinite(preserveKvWeight)) throw new ClifException("--preserve-kv-weight must be a finite number >= 0");
        if (!(sizeWeight >= 0) || !Double.isFinite(sizeWeight)) throw new ClifException("--size-weight must be a finite number >= 0");
        if (sizeWeight > 0 && method != Method.CLIF) throw new ClifException("--size-weight is a term of CLIF's loss: it needs --method clif");
        if (preserveKvWeight > 0 && preserveFile == null)
            throw new ClifException("--preserve-kv-weight needs --preserve FILE (the benign prompts whose keys and values are kept)");
        if (!(ucePreserveScale >= 0) || !Double.isFinite(ucePreserveScale)) throw new ClifException("--uce-preserve-scale must be a finite number >= 0");
        if (!(uceRidge >= 0 || uceRidge == RIDGE_AUTO) || !Double.isFinite(uceRidge))
            throw new ClifException("--uce-ridge must be 'auto' or a finite number >= 0, got " + uceRidge);
        if (imageSize < 0) throw new ClifException("image size must be >= 0 (0 = the model's native size)");
        if (outputDir == null) throw new ClifException("no output folder (--out DIR)");
    }

    /** {@link #uceRidge} value meaning: no ridge unless the solve is ill-conditioned, then the smallest that conditions it. */
    public static final double RIDGE_AUTO = -1;

    private static void positive(String what, long v) {
        if (v < 1) throw new ClifException(what + " must be at least 1, got " + v);
    }

    /** Whether MSE(ε_θ, ε_θ0) on the benign prompts is part of the loss. */
    public boolean preserves() {
        return preserveFile != null && preserveWeight > 0;
    }

    /** Whether the benign prompts' cross-attention keys and values are kept ({@link KvPreservation}). */
    public boolean preservesKv() {
        return preserveFile != null && preserveKvWeight > 0;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.concepts = new ArrayList<>(concepts);
        b.promptsFile = promptsFile;
        b.templates = templates;
        b.method = method;
        b.steps = steps;
        b.lr = lr;
        b.beta1 = beta1;
        b.beta2 = beta2;
        b.weightDecay = weightDecay;
        b.maxGradNorm = maxGradNorm;
        b.params = params;
        b.mode = mode;
        b.chainSteps = chainSteps;
        b.ddimSteps = ddimSteps;
        b.minStopIndex = minStopIndex;
        b.maxStopIndex = maxStopIndex;
        b.guidance = guidance;
        b.trainGuidance = trainGuidance;
        b.esdEta = esdEta;
        b.batch = batch;
        b.seed = seed;
        b.device = device;
        b.dtype = dtype;
        b.gradientCheckpointing = gradientCheckpointing;
        b.checkpointEvery = checkpointEvery;
        b.preserveFile = preserveFile;
        b.preserveWeight = preserveWeight;
        b.preserveKvWeight = preserveKvWeight;
        b.sizeWeight = sizeWeight;
        b.ucePreserveScale = ucePreserveScale;
        b.uceRidge = uceRidge;
        b.imageSize = imageSize;
        b.outputDir = outputDir;
        b.resume = resume;
        return b;
    }

    /** The configuration as JSON (what the report and the delta's metadata record). */
    public ObjectNode toJson() {
        ObjectMapper m = new ObjectMapper();
        ObjectNode o = m.createObjectNode();
        ArrayNode c = o.putArray("concepts");
        for (ConceptPair p : concepts) c.addObject().put("source", p.source()).put("target", p.target());
        o.put("prompts_file", promptsFile == null ? null : promptsFile.toString());
        ArrayNode t = o.putArray("templates");
        templates.forEach(t::add);
        o.put("method", method.name().toLowerCase(Locale.ROOT));
        o.put("steps", steps);
        o.put("lr", lr);
        o.put("beta1", beta1);
        o.put("beta2", beta2);
        o.put("weight_decay", weightDecay);
        o.put("max_grad_norm", maxGradNorm);
        ArrayNode ps = o.putArray("params");
        params.forEach(ps::add);
        o.put("mode", mode.label);
        o.put("chain_steps", chainSteps);
        o.put("ddim_steps", ddimSteps);
        o.put("min_stop_index", minStopIndex);
        o.put("max_stop_index", maxStopIndex);
        o.put("guidance", guidance);
        o.put("train_guidance", trainGuidance);
        o.put("esd_eta", esdEta);
        o.put("batch", batch);
        o.put("seed", seed);
        o.put("device", device.toString());
        o.put("dtype", dtype.name().toLowerCase(Locale.ROOT));
        o.put("gradient_checkpointing", gradientCheckpointing);
        o.put("checkpoint_every", checkpointEvery);
        o.put("preserve_file", preserveFile == null ? null : preserveFile.toString());
        o.put("preserve_weight", preserveWeight);
        o.put("preserve_kv_weight", preserveKvWeight);
        o.put("size_weight", sizeWeight);
        o.put("uce_preserve_scale", ucePreserveScale);
        if (uceRidge == RIDGE_AUTO) o.put("uce_ridge", "auto");
        else o.put("uce_ridge", uceRidge);
        o.put("image_size", imageSize);
        o.put("output_dir", outputDir.toString());
        return o;
    }

    /** Fields newer than some checkpoints, with the value an older checkpoint's run had. */
    static final Map<String, JsonNode> ADDED_LATER = Map.of("preserve_kv_weight", com.fasterxml.jackson.databind.node.DoubleNode.valueOf(0.0),
            "size_weight", com.fasterxml.jackson.databind.node.DoubleNode.valueOf(0.0),
            "uce_preserve_scale", com.fasterxml.jackson.databind.node.DoubleNode.valueOf(0.1),
            "uce_ridge", com.fasterxml.jackson.databind.node.TextNode.valueOf("auto"));

    /** Fields that may change between an interrupted run and its resumption without changing the result. */
    static final List<String> RESUMABLE_CHANGES = List.of("steps", "checkpoint_every", "output_dir", "device", "prompts_file", "preserve_file");

    /**
     * The first difference (other than {@link #RESUMABLE_CHANGES}) between two config JSONs, as
     * "field: a vs b", or null when they agree.
     */
    static String resumeConflict(JsonNode saved, JsonNode now) {
        for (Iterator<Map.Entry<String, JsonNode>> it = now.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (RESUMABLE_CHANGES.contains(e.getKey())) continue;
            JsonNode old = saved.has(e.getKey()) ? saved.get(e.getKey()) : ADDED_LATER.get(e.getKey());
            if (old == null || !old.toString().equals(e.getValue().toString())) return e.getKey() + ": " + old + " in the checkpoint, " + e.getValue() + " now";
        }
        return null;
    }

    /** Mutable builder with the defaults. */
    public static final class Builder {
        private List<ConceptPair> concepts = new ArrayList<>();
        private Path promptsFile;
        private List<String> templates = DEFAULT_TEMPLATES;
        private Method method = Method.CLIF;
        private int steps = 400;
        private double lr = DEFAULT_LR;
        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double weightDecay = 1e-2;
        private double maxGradNorm = 1.0;
        private List<String> params = List.of("xattn-kv");
        private Mode mode = Mode.ONE_STEP;
        private int chainSteps = 1;
        private int ddimSteps = 50;
        private Integer minStopIndex;
        private Integer maxStopIndex;
        private double guidance = 3.0;
        private double trainGuidance = 0;
        private double esdEta = 1.0;
        private int batch = 1;
        private long seed = 0;
        private Device device = Device.CPU;
        private DType dtype = DType.F32;
        private boolean gradientCheckpointing;
        private int checkpointEvery = 50;
        private Path preserveFile;
        private double preserveWeight = 1.0;
        private double preserveKvWeight;
        private double sizeWeight;
        private double ucePreserveScale = 0.1;
        private double uceRidge = RIDGE_AUTO;
        private int imageSize;
        private Path outputDir;
        private boolean resume;

        public Builder concept(String sourceToTarget) {
            concepts.add(ConceptPair.parse(sourceToTarget));
            return this;
        }

        public Builder concept(ConceptPair p) {
            concepts.add(p);
            return this;
        }

        public Builder concepts(List<ConceptPair> c) {
            concepts = new ArrayList<>(c);
            return this;
        }

        public Builder prompts(Path f) { promptsFile = f; return this; }
        public Builder templates(List<String> t) { templates = t; return this; }
        public Builder method(Method m) { method = m; return this; }
        public Builder steps(int n) { steps = n; return this; }
        public Builder lr(double v) { lr = v; return this; }
        public Builder betas(double b1, double b2) { beta1 = b1; beta2 = b2; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder maxGradNorm(double v) { maxGradNorm = v; return this; }
        public Builder params(List<String> p) { params = p; return this; }
        public Builder params(String... p) { params = List.of(p); return this; }
        public Builder mode(Mode m) { mode = m; return this; }
        public Builder chainSteps(int k) { chainSteps = k; return this; }
        public Builder ddimSteps(int n) { ddimSteps = n; return this; }
        /** The range of the stop index k (inclusive), each in [0, ddimSteps). Unset: the whole trajectory. */
        public Builder stopIndexRange(int min, int max) { minStopIndex = min; maxStopIndex = max; return this; }
        public Builder guidance(double g) { guidance = g; return this; }
        public Builder trainGuidance(double g) { trainGuidance = g; return this; }
        public Builder esdEta(double e) { esdEta = e; return this; }
        public Builder batch(int b) { batch = b; return this; }
        public Builder seed(long s) { seed = s; return this; }
        public Builder device(Device d) { device = d; return this; }
        public Builder dtype(DType t) { dtype = t; return this; }
        public Builder gradientCheckpointing(boolean g) { gradientCheckpointing = g; return this; }
        public Builder checkpointEvery(int n) { checkpointEvery = n; return this; }
        public Builder preserve(Path f, double weight) { preserveFile = f; preserveWeight = weight; return this; }
        /** λ of the key/value preservation on the {@link #preserve} prompts (0: off, the default). */
        public Builder preserveKv(double weight) { preserveKvWeight = weight; return this; }
        /**
         * w of CLIF's size term, which asks each image to move along ΔT by the text gap ({@link DirectionalClipLoss};
         * 0: off, the default, the paper's loss).
         */
        public Builder sizeWeight(double w) { sizeWeight = w; return this; }
        /** UCE's weight λ of the preserved prompts (UCE's {@code preserve_scale}, default 0.1). */
        public Builder ucePreserveScale(double v) { ucePreserveScale = v; return this; }
        /** UCE's ridge toward the original weights; {@link #RIDGE_AUTO} (the default): only where ill-conditioned. */
        public Builder uceRidge(double v) { uceRidge = v; return this; }
        public Builder imageSize(int s) { imageSize = s; return this; }
        public Builder outputDir(Path d) { outputDir = d; return this; }
        public Builder resume(boolean r) { resume = r; return this; }

        public PurgeConfig build() {
            int lo = minStopIndex == null ? 0 : minStopIndex;
            int hi = maxStopIndex == null ? ddimSteps - 1 : maxStopIndex;
            return new PurgeConfig(concepts, promptsFile, templates, method, steps, lr, beta1, beta2, weightDecay, maxGradNorm,
                    params, mode, chainSteps, ddimSteps, lo, hi, guidance, trainGuidance, esdEta, batch, seed, device, dtype,
                    gradientCheckpointing, checkpointEvery, preserveFile, preserveWeight, preserveKvWeight, sizeWeight, ucePreserveScale, uceRidge, imageSize, outputDir, resume);
        }
    }
}
