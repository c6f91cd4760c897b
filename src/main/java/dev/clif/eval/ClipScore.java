package dev.clif.eval;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * CLIP score as torchmetrics defines it ({@code torchmetrics.functional.multimodal.clip_score}): per image and its
 * caption {@code 100 * cos(E_I, E_T)} of the CLIP's image and text features, and the metric {@code max(mean, 0)}:
 * the mean is clamped, not each pair.
 */
public final class ClipScore {
    private ClipScore() {}

    /** {@code 100 * (a / |a|) . (b / |b|)}, unclamped; a zero or non-finite vector is an error. */
    public static double pair(double[] imageFeatures, double[] textFeatures) {
        if (imageFeatures.length != textFeatures.length)
            throw new IllegalArgumentException("image features of width " + imageFeatures.length + " against text features of width " + textFeatures.length);
        double dot = 0, ii = 0, tt = 0;
        for (int k = 0; k < imageFeatures.length; k++) {
            dot += imageFeatures[k] * textFeatures[k];
            ii += imageFeatures[k] * imageFeatures[k];
            tt += textFeatures[k] * textFeatures[k];
        }
        double norm = Math.sqrt(ii) * Math.sqrt(tt);
        if (!(norm > 0) || !Double.isFinite(norm)) throw new IllegalArgumentException("a CLIP feature vector is zero or not finite");
        return 100 * dot / norm;
    }

    /** The metric: {@code max(mean of the pair scores, 0)}; 0 for no pairs. */
    public static double metric(double[] pairScores) {
        if (pairScores.length == 0) return 0;
        double s = 0;
        for (double v : pairScores) s += v;
        return Math.max(s / pairScores.length, 0);
    }

    /**
     * The 95 % percentile-bootstrap interval of {@link #metric} over prompts: {@code samples} seeded resamples of the
     * prompts with replacement, each prompt bringing all its images' pair scores, the metric of the pooled scores, and
     * the 2.5th and 97.5th percentiles (numpy's linear interpolation). Resampled over prompts, as the rates are, since
     * the images of one caption are not independent. No prompts gives [0, 0].
     */
    public static double[] bootstrapCi95(List<double[]> perPrompt, int samples, long seed) {
        int n = perPrompt.size();
        if (n == 0) return new double[] {0, 0};
        if (samples < 1) throw new IllegalArgumentException("bootstrap samples must be at least 1");
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] metrics = new double[samples];
        for (int s = 0; s < samples; s++) {
            double sum = 0;
            long count = 0;
            for (int i = 0; i < n; i++) {
                double[] p = perPrompt.get(rnd.nextInt(n));
                for (double v : p) sum += v;
                count += p.length;
            }
            metrics[s] = count == 0 ? 0 : Math.max(sum / count, 0);
        }
        Arrays.sort(metrics);
        return new double[] {Metrics.percentile(metrics, 2.5), Metrics.percentile(metrics, 97.5)};
    }
}
