package dev.clif.eval.scorers;

import dev.clif.eval.FeatureExtractor;
import dev.clif.io.RgbImage;
import dev.clif.model.ClipConfig;
import dev.clif.model.ClipImageProcessor;
import dev.clif.model.ClipModel;
import dev.clif.tensor.Device;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A CLIP's image embeddings as FID/KID features (clean-fid's {@code clip_vit_b_32} model mode, with the CLIP given):
 * get_image_features (the projected embedding, not normalised) of each image after the folder's CLIPImageProcessor.
 */
public final class ClipImageFeatures implements FeatureExtractor {
    private final Path dir;
    private final String variant;
    private final String weightsSha256;
    private final ClipImageProcessor processor;
    private ClipModel model;

    private ClipImageFeatures(Path dir, String variant, String weightsSha256, ClipImageProcessor processor, ClipModel model) {
        this.dir = dir;
        this.variant = variant;
        this.weightsSha256 = weightsSha256;
        this.processor = processor;
        this.model = model;
    }

    public static ClipImageFeatures open(Path dir, Device device) {
        String who = "--fid-features clip";
        ClipScoring.requireFolder(dir, who);
        ClipConfig config = ClipConfig.read(dir.resolve("config.json"));
        ClipImageProcessor processor = ClipScoring.imageProcessor(dir, config, who);
        return new ClipImageFeatures(dir, ClipScoreScorer.variant(dir, config), ClipScoring.weightsSha256(dir), processor,
                ClipScoring.load(dir, device));
    }

    @Override
    public String name() {
        return "CLIP image embeddings, " + variant;
    }

    @Override
    public Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("features", name());
        m.put("clip", dir.toAbsolutePath().toString());
        m.put("clip_weights_sha256", weightsSha256);
        m.put("value", "CLIPModel.get_image_features of the CLIPImageProcessor's pixels (projected, not normalised), float32, as float64");
        return m;
    }

    @Override
    public double[][] features(List<RgbImage> images) {
        if (model == null) throw new IllegalStateException("the CLIP feature extractor is closed");
        return ClipScoring.imageFeatures(model, processor, images);
    }

    @Override
    public void close() {
        if (model != null) {
            model.close();
            model = null;
        }
    }
}
