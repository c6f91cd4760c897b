package dev.clif.eval;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** CLIP score, FID and KID against hand computations. */
class PreservationMetricsTest {
    @Test
    void clipScorePairIsHundredTimesTheCosineAndTheMetricClampsTheMean() {
        assertEquals(100 * 3 / 5.0, ClipScore.pair(new double[] {3, 4}, new double[] {1, 0}), 1e-12);
        assertEquals(-100, ClipScore.pair(new double[] {2, 0}, new double[] {-5, 0}), 1e-12);
        assertEquals(5, ClipScore.metric(new double[] {-10, 20}), 1e-12);
        assertEquals(0, ClipScore.metric(new double[] {-10, 2}), 0); // the mean is clamped, not each pair
        assertThrows(IllegalArgumentException.class, () -> ClipScore.pair(new double[] {0, 0}, new double[] {1, 0}));
    }

    @Test
    void clipScoreIntervalResamplesPromptsAndHoldsTheMetric() {
        // One prompt: every resample is that prompt, so the interval is the point.
        double[] ci = ClipScore.bootstrapCi95(List.of(new double[] {20, 30}), 200, 1);
        assertArrayEquals(new double[] {25, 25}, ci, 1e-12);
        List<double[]> two = List.of(new double[] {10}, new double[] {30, 30, 30});
        ci = ClipScore.bootstrapCi95(two, 2000, 7);
        // Resamples are {10,10}: 10, {30x6}: 30, or the pooled mix 100/4 = 25; the 2.5th and 97.5th percentiles.
        assertEquals(10, ci[0], 1e-12);
        assertEquals(30, ci[1], 1e-12);
        assertArrayEquals(new double[] {0, 0}, ClipScore.bootstrapCi95(List.of(), 10, 0));
    }

    @Test
    void fidOfOneDimensionalSetsIsTheClosedForm() {
        // x: 0, 2 (mean 1, var 2); y: 1, 5, 9 (mean 5, var 16): (1-5)^2 + 2 + 16 - 2 sqrt(2*16)
        double fid = FrechetDistance.fid(new double[][] {{0}, {2}}, new double[][] {{1}, {5}, {9}});
        assertEquals(16 + 18 - 2 * Math.sqrt(32), fid, 1e-12);
    }

    @Test
    void fidOfDiagonalCovariancesSumsPerAxisAndStaysFiniteWhenSingular() {
        SplittableRandom r = new SplittableRandom(3);
        double[][] a = new double[4000][3], b = new double[4000][3];
        for (double[] v : a) for (int k = 0; k < 3; k++) v[k] = gauss(r) * (k + 1);
        for (double[] v : b) for (int k = 0; k < 3; k++) v[k] = 1 + gauss(r) * 2;
        FrechetDistance.Gaussian ga = FrechetDistance.fit(a), gb = FrechetDistance.fit(b);
        // Against itself: 0 up to rounding.
        assertEquals(0, FrechetDistance.distance(ga, ga), 1e-9);
        // Symmetric.
        assertEquals(FrechetDistance.distance(ga, gb), FrechetDistance.distance(gb, ga), 1e-9);
        // Two vectors in 3-d: rank 1 covariance; finite and non-negative.
        double singular = FrechetDistance.fid(a, new double[][] {{0, 0, 0}, {1, 1, 1}});
        assertTrue(Double.isFinite(singular) && singular > 0, "fid " + singular);
    }

    @Test
    void kidIsTheUnbiasedPolynomialMmdByHand() {
        double[][] x = {{1, 0}, {0, 1}}, y = {{1, 1}, {0, 0}};
        // k(u, v) = (u.v / 2 + 1)^3. XX off-diagonal: k(x0, x1) = 1. YY: k(y0, y1) = 1.
        // XY: k(x0,y0) = 1.5^3, k(x0,y1) = 1, k(x1,y0) = 1.5^3, k(x1,y1) = 1.
        double expected = 2 * 1 / 2.0 + 2 * 1 / 2.0 - 2 * (2 * 3.375 + 2) / 4;
        assertEquals(expected, KernelDistance.mmd2Unbiased(x, y), 1e-12);
        KernelDistance.Kid kid = KernelDistance.kid(x, y, 5);
        assertEquals(expected, kid.mean(), 1e-12); // equal sizes: every subset is the whole set
        assertEquals(0, kid.std(), 1e-12);
        assertEquals(2, kid.subsetSize());
    }

    @Test
    void kidOfTwoDrawsOfOneDistributionIsNearZeroAndOfShiftedOnesPositive() {
        SplittableRandom r = new SplittableRandom(11);
        double[][] a = new double[300][4], b = new double[300][4], c = new double[200][4];
        for (double[] v : a) for (int k = 0; k < 4; k++) v[k] = gauss(r);
        for (double[] v : b) for (int k = 0; k < 4; k++) v[k] = gauss(r);
        for (double[] v : c) for (int k = 0; k < 4; k++) v[k] = 1.5 + gauss(r);
        KernelDistance.Kid same = KernelDistance.kid(a, b, 20, 1000, 1);
        KernelDistance.Kid shifted = KernelDistance.kid(a, c, 20, 1000, 1);
        assertEquals(200, shifted.subsetSize());
        assertTrue(Math.abs(same.mean()) < 0.05, "same " + same);
        assertTrue(shifted.mean() > 1, "shifted " + shifted);
        assertTrue(shifted.std() > 0);
        assertEquals(shifted, KernelDistance.kid(a, c, 20, 1000, 1)); // seeded
    }

    private static double gauss(SplittableRandom r) {
        return Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
    }
}
