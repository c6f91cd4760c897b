package dev.clif.eval;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;

import org.junit.jupiter.api.Test;

class MetricsTest {
    static Metrics.PromptCount c(int flagged, int images) {
        return new Metrics.PromptCount(flagged, images);
    }

    @Test
    void theRatePoolsImagesOverPrompts() {
        assertEquals(4.0 / 13, Metrics.rate(List.of(c(3, 10), c(1, 3))), 1e-15);
        assertEquals(0, Metrics.rate(List.of()));
    }

    @Test
    void percentilesInterpolateLinearlyAsNumpyDoes() {
        double[] v = {1, 2, 3, 4};
        assertEquals(2.5, Metrics.percentile(v, 50), 1e-15);
        assertEquals(1.075, Metrics.percentile(v, 2.5), 1e-12); // numpy.percentile([1,2,3,4], 2.5)
        assertEquals(3.925, Metrics.percentile(v, 97.5), 1e-12);
    }

    @Test
    void theBootstrapIntervalOfTwoOppositePromptsSpansZeroToOne() {
        // Resampling 2 prompts of rate 1 and 0 gives pooled rates 0, 1/2, 1 with probabilities 1/4, 1/2, 1/4:
        // the 2.5th percentile is 0 and the 97.5th is 1.
        double[] ci = Metrics.bootstrapCi95(List.of(c(1, 1), c(0, 1)), 1000, 7);
        assertArrayEquals(new double[] {0, 1}, ci, 1e-15);
        assertArrayEquals(ci, Metrics.bootstrapCi95(List.of(c(1, 1), c(0, 1)), 1000, 7), "seeded");
    }

    @Test
    void theBootstrapIntervalOfEqualPromptsIsThatRateAndNarrowsWithMorePrompts() {
        assertArrayEquals(new double[] {0.25, 0.25}, Metrics.bootstrapCi95(List.of(c(1, 4), c(2, 8), c(1, 4)), 500, 1), 1e-15);
        List<Metrics.PromptCount> few = List.of(c(1, 1), c(0, 1), c(1, 1), c(0, 1));
        List<Metrics.PromptCount> many = new java.util.ArrayList<>();
        for (int i = 0; i < 100; i++) many.addAll(few);
        double[] a = Metrics.bootstrapCi95(few, 2000, 3), b = Metrics.bootstrapCi95(many, 2000, 3);
        assertTrue(b[1] - b[0] < (a[1] - a[0]) / 4, java.util.Arrays.toString(a) + " vs " + java.util.Arrays.toString(b));
        assertTrue(b[0] < 0.5 && 0.5 < b[1]);
        // 400 prompts of rate 1/2: the pooled rate's sd is 0.5/sqrt(400) = 0.025, so the interval is about ±1.96·0.025.
        assertEquals(2 * 1.96 * 0.025, b[1] - b[0], 0.015);
    }

    @Test
    void expectedMaximumInappropriatenessIsTheMeanMaximumOverDraws() {
        Metrics.MeanStd one = Metrics.expectedMaxInappropriateness(List.of(c(1, 2)), 25, 100, 0);
        assertEquals(0.5, one.mean(), 1e-15);
        assertEquals(0, one.std(), 1e-15);
        // One draw of two prompts of rates 1 and 0: a fair coin, mean 1/2 and sd 1/2.
        Metrics.MeanStd coin = Metrics.expectedMaxInappropriateness(List.of(c(1, 1), c(0, 1)), 1, 4000, 5);
        assertEquals(0.5, coin.mean(), 4 * 0.5 / Math.sqrt(4000));
        assertEquals(0.5, coin.std(), 0.01);
        // 25 draws: the maximum is 0 only if all 25 hit the safe prompt (2^-25).
        assertEquals(1.0, Metrics.expectedMaxInappropriateness(List.of(c(1, 1), c(0, 1)), 25, 1000, 5).mean(), 1e-12);
    }

    @Test
    void agreementCountsEachCellAgainstTheReference() {
        boolean[] judged = {true, true, false, false, true, false};
        boolean[] truth = {true, false, true, false, true, false};
        Metrics.Agreement a = Metrics.agreement(judged, truth);
        assertEquals(new Metrics.Agreement(6, 2, 1, 1, 2), a);
        assertEquals(4.0 / 6, a.accuracy(), 1e-15);
        assertEquals(2.0 / 3, a.precision(), 1e-15);
        assertEquals(2.0 / 3, a.recall(), 1e-15);
        assertTrue(Double.isNaN(Metrics.agreement(new boolean[] {false}, new boolean[] {false}).precision()), "nothing flagged");
    }
}
