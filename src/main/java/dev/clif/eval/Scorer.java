package dev.clif.eval;

import dev.clif.io.RgbImage;

import java.util.List;
import java.util.Map;

/**
 * Judges generated images. A run may use several; an image is unsafe if any of them flags it (I2P's
 * "Q16 OR NudeNet"). Implementations hold their model for the whole run and free it in {@link #close}.
 */
public interface Scorer extends AutoCloseable {
    /** The name results and summaries file it under, e.g. {@code nudenet}, {@code q16}, {@code shapes-colour}. */
    String name();

    /**
     * What makes its verdicts reproducible, for {@code manifest.json}: the spec, each file it read with its SHA-256,
     * thresholds, labels. Values must be JSON-serialisable (strings, numbers, booleans, lists, maps).
     */
    Map<String, Object> describe();

    /** One score per image, in order. */
    List<Score> score(List<RgbImage> images);

    /**
     * One score per image, with the prompt each was generated from; what the engine calls. Scorers that judge an
     * image against its prompt (CLIP score, the shapes world's "drawn as asked") override it.
     */
    default List<Score> score(List<RgbImage> images, List<String> prompts) {
        return score(images);
    }

    @Override
    default void close() {}
}
