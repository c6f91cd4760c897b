package dev.clif.eval;

import dev.clif.ClifException;
import dev.clif.eval.scorers.ClipImageFeatures;
import dev.clif.eval.scorers.OnnxFeatures;
import dev.clif.io.RgbImage;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The image features FID and KID are computed on. Specs: {@code clip} (the {@code --clip} CLIP's image embeddings,
 * clean-fid's {@code clip_vit_b_32} idea with whatever CLIP is given, named in the output), {@code clip=DIR}, or
 * {@code onnx=FILE.onnx} (a feature extractor the user brings, e.g. pytorch-fid's Inception exported to ONNX).
 */
public interface FeatureExtractor extends AutoCloseable {
    /** What the features are, for summary.json and the report: e.g. "CLIP image embeddings, clip-vit-base-patch32 (...)". */
    String name();

    /** What makes the features reproducible (files and their SHA-256), for manifest.json. */
    Map<String, Object> describe();

    /** One feature vector per image, in order. */
    double[][] features(List<RgbImage> images);

    @Override
    default void close() {}

    static FeatureExtractor create(String spec, ScorerContext ctx) {
        int eq = spec.indexOf('=');
        String family = (eq < 0 ? spec : spec.substring(0, eq)).trim();
        String arg = eq < 0 ? null : spec.substring(eq + 1).trim();
        return switch (family) {
            case "clip" -> {
                Path dir = arg == null || arg.isEmpty() ? ctx.clipDir() : ModelAliases.resolve(arg);
                if (dir == null) throw new ClifException("--fid-features clip needs a CLIP folder: give --clip DIR or clip=DIR");
                yield ClipImageFeatures.open(dir, ctx.device());
            }
            case "onnx" -> {
                if (arg == null || arg.isEmpty()) throw new ClifException("--fid-features onnx=FILE.onnx: give the ONNX file after '='");
                yield OnnxFeatures.open(Path.of(arg));
            }
            default -> throw new ClifException("--fid-features " + spec + ": unknown features '" + family + "' (known: clip, clip=DIR, onnx=FILE.onnx)");
        };
    }
}
