package dev.clif.attack;

import java.util.Arrays;

/**
 * Euclidean projection onto the probability simplex {x ≥ 0, Σx = 1} (Held, Wolfe and Crowder; Duchi et al. 2008): the
 * point UnlearnDiffAtk's bisection converges to (it solves Σ clip(a − μ, 0, 1) = 1 for μ to 1e-5), found exactly by
 * sorting.
 */
final class SimplexProjection {
    private SimplexProjection() {}

    /** Projects {@code v[offset, offset + n)} in place. */
    static void project(float[] v, int offset, int n) {
        double[] sorted = new double[n];
        for (int i = 0; i < n; i++) sorted[i] = v[offset + i];
        Arrays.sort(sorted);
        double cumulative = 0, theta = 0;
        for (int k = 1; k <= n; k++) { // descending: the k largest
            double u = sorted[n - k];
            cumulative += u;
            double t = (cumulative - 1) / k;
            if (u - t > 0) theta = t;
        }
        for (int i = 0; i < n; i++) v[offset + i] = (float) Math.max(0, v[offset + i] - theta);
    }
}
