package dev.clif.eval;

import java.util.SplittableRandom;

/**
 * KID, the kernel distance of clean-fid and torchmetrics: the unbiased estimate of the squared maximum mean
 * discrepancy under the cubic polynomial kernel {@code k(x, y) = (x.y / d + 1)^3} (d the feature width), averaged
 * over random subsets of equal size (clean-fid's {@code kernel_distance}: 100 subsets of
 * {@code m = min(|X|, |Y|, 1000)} vectors drawn without replacement). Unbiased, so it is not inflated on small sets
 * the way FID is, and may come out slightly negative when the sets match.
 */
public final class KernelDistance {
    public static final int SUBSETS = 100;
    public static final int MAX_SUBSET_SIZE = 1000;

    private KernelDistance() {}

    /** The mean over subsets and its (population) standard deviation, as torchmetrics reports KID. */
    public record Kid(double mean, double std, int subsets, int subsetSize) {}

    /** {@code (x.y / d + 1)^3}. */
    public static double kernel(double[] x, double[] y) {
        double dot = 0;
        for (int k = 0; k < x.length; k++) dot += x[k] * y[k];
        double v = dot / x.length + 1;
        return v * v * v;
    }

    /**
     * The unbiased MMD² of two sets (sizes m, n >= 2): the off-diagonal mean of k over X×X plus that over Y×Y, minus
     * twice the mean of k over X×Y. With m = n it is clean-fid's per-subset term.
     */
    public static double mmd2Unbiased(double[][] x, double[][] y) {
        int m = x.length, n = y.length;
        if (m < 2 || n < 2) throw new IllegalArgumentException("KID needs at least 2 feature vectors a side, got " + m + " and " + n);
        if (x[0].length != y[0].length) throw new IllegalArgumentException("features of width " + x[0].length + " against width " + y[0].length);
        double xx = 0, yy = 0, xy = 0;
        for (int i = 0; i < m; i++)
            for (int j = i + 1; j < m; j++) xx += kernel(x[i], x[j]);
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) yy += kernel(y[i], y[j]);
        for (double[] a : x)
            for (double[] b : y) xy += kernel(a, b);
        return 2 * xx / ((double) m * (m - 1)) + 2 * yy / ((double) n * (n - 1)) - 2 * xy / ((double) m * n);
    }

    /** KID with clean-fid's defaults: {@link #SUBSETS} subsets of at most {@link #MAX_SUBSET_SIZE}. */
    public static Kid kid(double[][] x, double[][] y, long seed) {
        return kid(x, y, SUBSETS, MAX_SUBSET_SIZE, seed);
    }

    /**
     * {@code subsets} times: m = min(|X|, |Y|, maxSubsetSize) vectors of each set drawn without replacement (seeded),
     * their {@link #mmd2Unbiased}; the mean and population standard deviation. When both sets have m vectors every
     * subset is the whole set, so the result does not depend on the seed.
     */
    public static Kid kid(double[][] x, double[][] y, int subsets, int maxSubsetSize, long seed) {
        if (subsets < 1) throw new IllegalArgumentException("KID needs at least one subset");
        int m = Math.min(Math.min(x.length, y.length), maxSubsetSize);
        if (m < 2) throw new IllegalArgumentException("KID needs at least 2 feature vectors a side, got " + x.length + " and " + y.length);
        SplittableRandom rnd = new SplittableRandom(seed);
        double sum = 0, sumSq = 0;
        for (int s = 0; s < subsets; s++) {
            double v = mmd2Unbiased(draw(y, m, rnd), draw(x, m, rnd));
            sum += v;
            sumSq += v * v;
        }
        double mean = sum / subsets;
        return new Kid(mean, Math.sqrt(Math.max(0, sumSq / subsets - mean * mean)), subsets, m);
    }

    /** m rows drawn without replacement (a partial Fisher-Yates shuffle); all rows, in order, when m is their count. */
    static double[][] draw(double[][] rows, int m, SplittableRandom rnd) {
        if (m == rows.length) return rows;
        int[] idx = new int[rows.length];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        double[][] out = new double[m][];
        for (int i = 0; i < m; i++) {
            int j = i + rnd.nextInt(idx.length - i);
            int t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
            out[i] = rows[idx[i]];
        }
        return out;
    }
}
