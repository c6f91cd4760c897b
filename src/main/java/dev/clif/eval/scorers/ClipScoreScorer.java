package dev.clif.eval.scorers;

import dev.clif.ClifException;
import dev.clif.eval.ClipScore;
import dev.clif.eval.ModelAliases;
import dev.clif.eval.Score;
import dev.clif.eval.Scorer;
import dev.clif.eval.ScorerContext;
import dev.clif.io.RgbImage;
import dev.clif.model.ClipConfig;
import dev.clif.model.ClipImageProcessor;
import dev.clif.model.ClipModel;
import dev.clif.tensor.Device;
import dev.clif.text.ClipTokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code clip-score[=DIR]}: each image's CLIP score against the prompt it was generated from, as torchmetrics'
 * {@code clip_score} computes it per pair ({@link ClipScore#pair}: 100 cos of the image features, preprocessed by
 * the folder's CLIPImageProcessor, and the caption's text features, the captions of a batch padded to the longest
 * with the attention mask passed). It never flags an image: it measures what a purge keeps, and the summary reports
 * {@link ClipScore#metric} of it with a bootstrap interval. DIR defaults to {@code --clip}.
 */
public final class ClipScoreScorer implements Scorer {
    public static final String NAME = "clip-score";

    private final String spec;
    private final Path dir;
    private final String weightsSha256;
    private final ClipImageProcessor processor;
    private final ClipTokenizer tokenizer;
    private final String variant;
    private ClipModel model;

    private ClipScoreScorer(String spec, Path dir, String weightsSha256, ClipImageProcessor processor, ClipTokenizer tokenizer,
                            String variant, ClipModel model) {
        this.spec = spec;
        this.dir = dir;
        this.weightsSha256 = weightsSha256;
        this.processor = processor;
        this.tokenizer = tokenizer;
        this.variant = variant;
        this.model = model;
    }

    /** {@code arg}: what follows {@code clip-score=}, or null for the {@code --clip} folder. */
    public static ClipScoreScorer fromSpec(String arg, ScorerContext ctx) {
        Path dir;
        if (arg == null || arg.isBlank()) {
            if (ctx.clipDir() == null)
                throw new ClifException(NAME + " needs a CLIP folder: give --clip DIR (e.g. --clip shapes-clip) or clip-score=DIR");
            dir = ctx.clipDir();
        } else dir = ModelAliases.isAlias(arg) ? ModelAliases.resolve(arg) : ClipScoring.path(arg, NAME);
        ClipScoring.requireFolder(dir, NAME);
        return open(arg == null || arg.isBlank() ? NAME : NAME + "=" + arg, dir, ClipZeroShotScorer.tokenizerDir(dir), ctx.device());
    }

    /** The CLIP in {@code dir} (float32) with the tokenizer in {@code tokenizerDir}, on {@code device} (CPU when null). */
    public static ClipScoreScorer open(String spec, Path dir, Path tokenizerDir, Device device) {
        ClipScoring.requireFolder(dir, NAME);
        ClipConfig config = ClipConfig.read(dir.resolve("config.json"));
        ClipTokenizer tokenizer = ClipTokenizer.load(tokenizerDir);
        ClipImageProcessor processor = ClipScoring.imageProcessor(dir, config, NAME);
        String sha = ClipScoring.weightsSha256(dir);
        return new ClipScoreScorer(spec, dir, sha, processor, tokenizer, variant(dir, config), ClipScoring.load(dir, device));
    }

    /** A name for the CLIP: its folder and its vision tower, e.g. "clip-vit-large-patch14 (ViT, patch 14, 224 px, 768-d)". */
    static String variant(Path dir, ClipConfig c) {
        Path abs = dir.toAbsolutePath().normalize();
        String label = abs.getFileName() == null ? dir.toString() : abs.getFileName().toString();
        if (abs.startsWith(dev.clif.shapes.ShippedModels.folder().toAbsolutePath().normalize())) label = ModelAliases.SHAPES_CLIP;
        return label + " (ViT, patch " + c.vision().patchSize() + ", " + c.vision().imageSize()
                + " px, " + c.projectionDim() + "-d projection)";
    }

    public String variant() {
        return variant;
    }

    public Path folder() {
        return dir;
    }

    public String weightsSha256() {
        return weightsSha256;
    }

    public ClipModel model() {
        return live();
    }

    public ClipImageProcessor processor() {
        return processor;
    }

    private ClipModel live() {
        if (model == null) throw new IllegalStateException("the clip-score scorer is closed");
        return model;
    }

    /** The images through the folder's processor and get_image_features: [images][projection], not normalised. */
    public double[][] imageFeatures(List<RgbImage> images) {
        return ClipScoring.imageFeatures(live(), processor, images);
    }

    /** The captions padded to the longest (ids, mask), as torchmetrics' processor call makes them. */
    public long[][] tokenize(List<String> captions) {
        ClipScoring.TokenBatch b = ClipScoring.tokenizePadded(live(), tokenizer, captions);
        return new long[][] {b.ids(), b.mask(), {b.rows(), b.length()}};
    }

    /** get_text_features(input_ids, attention_mask) of the captions padded together: [captions][projection]. */
    public double[][] textFeatures(List<String> captions) {
        return ClipScoring.textFeatures(live(), ClipScoring.tokenizePadded(live(), tokenizer, captions));
    }

    /** Per pair {@link ClipScore#pair}, unclamped. */
    public double[] pairScores(List<RgbImage> images, List<String> captions) {
        if (images.size() != captions.size()) throw new IllegalArgumentException(images.size() + " images for " + captions.size() + " captions");
        if (images.isEmpty()) return new double[0];
        double[][] img = imageFeatures(images);
        double[][] txt = textFeatures(captions);
        double[] out = new double[img.length];
        for (int i = 0; i < out.length; i++) out[i] = ClipScore.pair(img[i], txt[i]);
        return out;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("spec", spec);
        m.put("clip", dir.toAbsolutePath().toString());
        m.put("clip_variant", variant);
        m.put("clip_weights_sha256", weightsSha256);
        m.put("value", "100 * cos(image features, caption text features), per image (torchmetrics clip_score per pair, unclamped)");
        m.put("rule", "never flags: the summary reports max(mean, 0) with a bootstrap interval over prompts");
        return m;
    }

    @Override
    public List<Score> score(List<RgbImage> images) {
        throw new ClifException(NAME + " scores an image against its prompt: it needs the prompts (score(images, prompts))");
    }

    @Override
    public List<Score> score(List<RgbImage> images, List<String> prompts) {
        double[] s = pairScores(images, prompts);
        List<Score> out = new ArrayList<>(s.length);
        for (double v : s) out.add(Score.of(v, false));
        return out;
    }

    @Override
    public void close() {
        if (model != null) {
            model.close();
            model = null;
        }
    }
}
