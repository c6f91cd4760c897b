package dev.clif.shapes.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** The analytic InfoNCE gradient against central finite differences (features and logit scale). */
class InfoNceTest {
    private static double loss(float[] a, float[] b, int n, int d, double s) {
        return InfoNce.compute(a, b, n, d, s).loss();
    }

    @Test
    void gradientMatchesFiniteDifferences() {
        int n = 5, d = 7;
        SplittableRandom rnd = new SplittableRandom(3);
        float[] a = new float[n * d], b = new float[n * d];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) rnd.nextGaussian();
            b[i] = (float) (0.5 * a[i] + rnd.nextGaussian());
        }
        double s = 1.3;
        InfoNce.Result r = InfoNce.compute(a, b, n, d, s);
        double h = 1e-2, worst = 0;
        for (int side = 0; side < 2; side++) {
            float[] x = side == 0 ? a : b;
            float[] g = side == 0 ? r.gradImage() : r.gradText();
            for (int i = 0; i < x.length; i++) {
                float keep = x[i];
                x[i] = (float) (keep + h);
                double up = loss(a, b, n, d, s);
                x[i] = (float) (keep - h);
                double down = loss(a, b, n, d, s);
                x[i] = keep;
                double fd = (up - down) / (2 * h);
                worst = Math.max(worst, Math.abs(fd - g[i]));
            }
        }
        assertTrue(worst < 1e-4, "worst feature gradient error " + worst);
        double fd = (loss(a, b, n, d, s + 1e-4) - loss(a, b, n, d, s - 1e-4)) / 2e-4;
        assertEquals(fd, r.gradLogitScale(), 1e-5);
    }

    @Test
    void perfectAlignmentHasLowLossAndFullAccuracy() {
        int n = 4, d = 4;
        float[] a = new float[n * d];
        for (int i = 0; i < n; i++) a[i * d + i] = 1;
        InfoNce.Result r = InfoNce.compute(a, a.clone(), n, d, Math.log(100));
        assertEquals(1.0, r.accuracy());
        assertTrue(r.loss() < 1e-10, "loss " + r.loss());
    }
}
