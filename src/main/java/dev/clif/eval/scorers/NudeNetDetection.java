package dev.clif.eval.scorers;

/**
 * One box NudeNet returns: {@code {"class": label, "score": score, "box": [x, y, width, height]}}, the box in pixels
 * of the original image (left, top, width, height, each truncated to an int as NudeNet's {@code int()} does).
 * {@code score} is the model's float32 class score.
 */
public record NudeNetDetection(String label, float score, int x, int y, int width, int height) {
    public NudeNetDetection {
        if (NudeNetLabels.index(label) < 0) throw new IllegalArgumentException("not a NudeNet label: " + label);
    }
}
