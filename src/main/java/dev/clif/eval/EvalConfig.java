package dev.clif.eval;

import dev.clif.ClifException;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What an {@link Evaluation} runs. {@code scorers} decide whether an image is unsafe (any of them flagging it);
 * {@code alsoScore} are scored and reported but do not decide. {@code guidance}, {@code seed}, {@code width} and
 * {@code height} override every prompt's own when not null; a prompt without its own uses 7.5, its id, and the
 * model's native size. Image k of a prompt uses seed + k. {@code batch} images are denoised together; the batches are
 * fixed by the plan, so a resumed run recomputes exactly what an uninterrupted one does.
 */
public record EvalConfig(Path prompts, PromptSet.Filter filter, List<ModelSpec> models, List<String> scorers, List<String> alsoScore,
                         Path clip, int imagesPerPrompt, int steps, Double guidance, Long seed, Integer width, Integer height,
                         String scheduler, Device device, DType dtype, int batch, Path out, boolean resume, boolean saveImages,
                         String referenceScorer, int bootstrapSamples, long bootstrapSeed, PreservationConfig preservation) {
    public static final double DEFAULT_GUIDANCE = 7.5;

    /**
     * What a purge keeps ({@link Preservation}): {@code captions} (a caption set, {@link CaptionSetReader}; null for
     * none) sampled to {@code sample} captions with {@code sampleSeed}; the {@code categories} measured (empty: the
     * captions' when a caption set is given, else every image); FID/KID's {@code reference} (null: none; see
     * {@link Preservation}) and {@code features} ({@link FeatureExtractor#create}; null: {@code clip}).
     */
    public record PreservationConfig(Path captions, Integer sample, long sampleSeed, List<String> categories, String reference, String features) {
        public PreservationConfig {
            categories = categories == null ? List.of() : List.copyOf(categories);
            if (sample != null && sample < 1) throw new ClifException("--caption-sample must be at least 1, got " + sample);
            if (features != null && reference == null) throw new ClifException("--fid-features needs --fid-reference (what to compare with)");
        }

        /** The categories measured: the given ones, else the caption set's, else none (every image). */
        public List<String> measured() {
            if (!categories.isEmpty()) return categories;
            return captions != null ? List.of(CaptionSetReader.CATEGORY) : List.of();
        }

        public String featuresOrDefault() {
            return features == null ? "clip" : features;
        }
    }

    public EvalConfig {
        filter = filter == null ? PromptSet.Filter.ALL : filter;
        models = List.copyOf(models);
        scorers = List.copyOf(scorers);
        alsoScore = alsoScore == null ? List.of() : List.copyOf(alsoScore);
        boolean captions = preservation != null && preservation.captions() != null;
        if (prompts == null && !captions) throw new ClifException("no prompt file: give --prompts FILE (or --captions FILE)");
        if (models.isEmpty()) throw new ClifException("no model to evaluate: give --model NAME=SPEC (e.g. --model base=shapes)");
        Set<String> names = new HashSet<>();
        for (ModelSpec m : models)
            if (!names.add(m.name())) throw new ClifException("two models are named '" + m.name() + "': each --model needs its own NAME");
        if (scorers.isEmpty() && !captions) throw new ClifException("no scorer: give --scorer SPEC (e.g. --scorer shapes-colour=red or --scorer nudenet=320n.onnx)");
        if (imagesPerPrompt < 1) throw new ClifException("--images-per-prompt must be at least 1, got " + imagesPerPrompt);
        if (steps < 1) throw new ClifException("--steps must be at least 1, got " + steps);
        if (guidance != null && !(guidance >= 0 && Double.isFinite(guidance))) throw new ClifException("--guidance must be a finite number >= 0");
        if (seed != null && seed < 0) throw new ClifException("--seed must be >= 0");
        if ((width == null) != (height == null)) throw new ClifException("give both width and height, or neither");
        if (width != null && (width < 8 || height < 8)) throw new ClifException("image size " + width + "x" + height + " is too small");
        if (batch < 1) throw new ClifException("--batch must be at least 1, got " + batch);
        if (scheduler != null) dev.clif.sampling.Scheduler.normalizeKind(scheduler); // an unknown name fails now, not at the first batch
        if (out == null) throw new ClifException("no output folder: give --out DIR");
        if (bootstrapSamples < 1) throw new ClifException("--bootstrap must be at least 1");
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Defaults: 1 image per prompt, 30 steps, the prompts' own guidance/seed/size, CPU fp32, batch 4, images saved, 1000 bootstrap samples. */
    public static final class Builder {
        private Path prompts;
        private PromptSet.Filter filter = PromptSet.Filter.ALL;
        private final List<ModelSpec> models = new ArrayList<>();
        private final List<String> scorers = new ArrayList<>();
        private final List<String> alsoScore = new ArrayList<>();
        private Path clip;
        private int imagesPerPrompt = 1;
        private int steps = 30;
        private Double guidance;
        private Long seed;
        private Integer width, height;
        private String scheduler;
        private Device device = Device.CPU;
        private DType dtype = DType.F32;
        private int batch = 4;
        private Path out = Path.of("clif-eval");
        private boolean resume;
        private boolean saveImages = true;
        private String referenceScorer;
        private int bootstrapSamples = 1000;
        private long bootstrapSeed;
        private PreservationConfig preservation;

        public Builder prompts(Path v) { prompts = v; return this; }
        public Builder filter(PromptSet.Filter v) { filter = v; return this; }
        public Builder model(ModelSpec v) { models.add(v); return this; }
        public Builder model(String nameEqualsSpec) { return model(ModelSpec.parse(nameEqualsSpec)); }
        public Builder scorer(String spec) { scorers.add(spec); return this; }
        public Builder alsoScore(String spec) { alsoScore.add(spec); return this; }
        public Builder clip(Path v) { clip = v; return this; }
        public Builder imagesPerPrompt(int v) { imagesPerPrompt = v; return this; }
        public Builder steps(int v) { steps = v; return this; }
        public Builder guidance(Double v) { guidance = v; return this; }
        public Builder seed(Long v) { seed = v; return this; }
        public Builder size(Integer w, Integer h) { width = w; height = h; return this; }
        public Builder scheduler(String v) { scheduler = v; return this; }
        public Builder device(Device v) { device = v; return this; }
        public Builder dtype(DType v) { dtype = v; return this; }
        public Builder batch(int v) { batch = v; return this; }
        public Builder out(Path v) { out = v; return this; }
        public Builder resume(boolean v) { resume = v; return this; }
        public Builder saveImages(boolean v) { saveImages = v; return this; }
        public Builder referenceScorer(String v) { referenceScorer = v; return this; }
        public Builder bootstrap(int samples, long seed) { bootstrapSamples = samples; bootstrapSeed = seed; return this; }
        public Builder preservation(PreservationConfig v) { preservation = v; return this; }

        public EvalConfig build() {
            return new EvalConfig(prompts, filter, models, scorers, alsoScore, clip, imagesPerPrompt, steps, guidance, seed, width, height,
                    scheduler, device, dtype, batch, out, resume, saveImages, referenceScorer, bootstrapSamples, bootstrapSeed, preservation);
        }
    }
}
