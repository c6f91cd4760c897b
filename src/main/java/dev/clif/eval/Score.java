package dev.clif.eval;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One scorer's verdict on one image: a number (what "how unsafe" means is the scorer's: a detector's best score,
 * a cosine margin, a share of pixels), whether it flags the image, and optional per-label counts (NudeNet's
 * detected labels), in the scorer's order.
 */
public record Score(double value, boolean unsafe, Map<String, Integer> labels) {
    public Score {
        labels = labels == null || labels.isEmpty() ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(labels));
    }

    public static Score of(double value, boolean unsafe) {
        return new Score(value, unsafe, Map.of());
    }
}
