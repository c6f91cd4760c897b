package dev.clif.purge;

import dev.clif.TestData;
import static org.junit.jupiter.api.Assertions.*;

import dev.clif.io.SafetensorsFile;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;

class DirectionalClipLossTest {
    static float[][] rows(float[] flat, int b) {
        int d = flat.length / b;
        float[][] out = new float[b][d];
        for (int r = 0; r < b; r++) System.arraycopy(flat, r * d, out[r], 0, d);
        return out;
    }

    static float[][] randomRows(Random rnd, int b, int d) {
        float[][] out = new float[b][d];
        for (float[] row : out) for (int i = 0; i < d; i++) row[i] = (float) rnd.nextGaussian();
        return out;
    }

    @Test
    void analyticGradientMatchesCentralFiniteDifferences() {
        Random rnd = new Random(7);
        int b = 3;
        int d = 16;
        float[][] train = randomRows(rnd, b, d);
        float[][] frozen = randomRows(rnd, b, d);
        float[] deltaT = DirectionalClipLoss.textDirection(randomRows(rnd, 4, d), randomRows(rnd, 4, d));
        DirectionalClipLoss.Result r = DirectionalClipLoss.compute(train, frozen, deltaT);
        double h = 1e-3;
        double worst = 0;
        for (int row = 0; row < b; row++) {
            for (int i = 0; i < d; i++) {
                float keep = train[row][i];
                train[row][i] = (float) (keep + h);
                double plus = DirectionalClipLoss.compute(train, frozen, deltaT).loss();
                train[row][i] = (float) (keep - h);
                double minus = DirectionalClipLoss.compute(train, frozen, deltaT).loss();
                train[row][i] = keep;
                double fd = (plus - minus) / ((float) (keep + h) - (float) (keep - h));
                worst = Math.max(worst, Math.abs(fd - r.gradient()[row][i]));
                assertEquals(fd, r.gradient()[row][i], 2e-4 + 1e-3 * Math.abs(fd), "row " + row + " coordinate " + i);
            }
        }
        assertTrue(worst > 0, "a gradient identical to finite differences everywhere is suspicious");
    }

    @Test
    void lossIsZeroWhenTheImagesMoveAlongTheTextDirection() {
        float[] deltaT = new float[] {0, 1, 0};
        float[][] frozen = {{1, 0, 0}};
        float[][] train = {{1, 0.5f, 0}}; // moved toward +y: e − e0 has a positive y and a negative x part
        DirectionalClipLoss.Result r = DirectionalClipLoss.compute(train, frozen, deltaT);
        assertTrue(r.loss() < 0.3 && r.loss() > 0, "loss " + r.loss());
        float[][] away = {{1, -0.5f, 0}};
        assertTrue(DirectionalClipLoss.compute(away, frozen, deltaT).loss() > 1.7);
    }

    @Test
    void tieBreakAtTheFirstStepIsDefinedAndMovesTowardTheTextDirection() {
        float[][] same = {{0.3f, -1.2f, 0.7f, 2f}};
        float[] deltaT = DirectionalClipLoss.textDirection(new float[][] {{1, 0, 0, 0}}, new float[][] {{0, 1, 0, 0}});
        DirectionalClipLoss.Result r = DirectionalClipLoss.compute(same, same, deltaT);
        assertEquals(1, r.tieBreaks());
        assertEquals(1.0, r.loss(), 0);
        // A small step against the gradient lowers the loss below 1.
        float[][] moved = {same[0].clone()};
        for (int i = 0; i < 4; i++) moved[0][i] -= 0.01f * r.gradient()[0][i] / Math.abs(r.gradient()[0][1] == 0 ? 1 : r.gradient()[0][1]);
        assertTrue(DirectionalClipLoss.compute(moved, same, deltaT).loss() < 1.0);
        // Deterministic.
        assertArrayEquals(r.gradient()[0], DirectionalClipLoss.compute(same, same, deltaT).gradient()[0]);
    }

    @Test
    void sizeTermGradientMatchesCentralFiniteDifferences() {
        Random rnd = new Random(11);
        int b = 4;
        int d = 12;
        float[][] frozen = randomRows(rnd, b, d);
        float[] deltaT = DirectionalClipLoss.textDirection(randomRows(rnd, 4, d), randomRows(rnd, 4, d));
        float[][] train = new float[b][];
        // Rows 0 and 1 moved a little along ΔT (the hinge active), row 2 far along it (inactive), row 3 against it.
        float[] steps = {0.05f, 0.2f, 3f, -0.3f};
        for (int r = 0; r < b; r++) {
            train[r] = frozen[r].clone();
            double n = 0;
            for (float v : frozen[r]) n += v * v;
            n = Math.sqrt(n);
            for (int i = 0; i < d; i++) train[r][i] += (float) (steps[r] * n * deltaT[i] + 0.05 * n * rnd.nextGaussian());
        }
        double w = 0.7;
        double gap = 0.4;
        DirectionalClipLoss.Result r = DirectionalClipLoss.compute(train, frozen, deltaT, w, gap);
        DirectionalClipLoss.Result plain = DirectionalClipLoss.compute(train, frozen, deltaT);
        assertTrue(r.progress()[0] < 1 && r.progress()[1] < 1 && r.progress()[2] > 1 && r.progress()[3] < 0, java.util.Arrays.toString(r.progress()));
        double h = 1e-3;
        boolean differs = false;
        for (int row = 0; row < b; row++) {
            for (int i = 0; i < d; i++) {
                float keep = train[row][i];
                train[row][i] = (float) (keep + h);
                double plus = DirectionalClipLoss.compute(train, frozen, deltaT, w, gap).loss();
                train[row][i] = (float) (keep - h);
                double minus = DirectionalClipLoss.compute(train, frozen, deltaT, w, gap).loss();
                train[row][i] = keep;
                double fd = (plus - minus) / ((float) (keep + h) - (float) (keep - h));
                assertEquals(fd, r.gradient()[row][i], 2e-4 + 1e-3 * Math.abs(fd), "row " + row + " coordinate " + i);
                if (Math.abs(r.gradient()[row][i] - plain.gradient()[row][i]) > 1e-4) differs = true;
            }
        }
        assertTrue(differs, "the size term changed no gradient");
        // Row 2 has moved by more than the gap: its gradient is the directional loss's alone.
        assertArrayEquals(plain.gradient()[2], r.gradient()[2], 0f);
    }

    @Test
    void sizeTermByHand() {
        // e0 = x, ΔT = y, e = normalize(x + 0.2y): p = e·y − 0 = 0.2/√1.04; with g = 0.5 and w = 2 the term adds
        // 2·(1 − p/0.5), and the loss of the directional part is 1 − cos(e − e0, y).
        float[][] frozen = {{1, 0, 0}};
        float[][] train = {{1, 0.2f, 0}};
        float[] deltaT = {0, 1, 0};
        double y = 0.2f; // the float the row holds
        double n = Math.sqrt(1 + y * y);
        double ex = 1 / n, ey = y / n;
        double cos = ey / Math.sqrt((ex - 1) * (ex - 1) + ey * ey);
        double p = ey;
        DirectionalClipLoss.Result r = DirectionalClipLoss.compute(train, frozen, deltaT, 2, 0.5);
        assertEquals(p / 0.5, r.progress()[0], 1e-12);
        assertEquals(1 - cos + 2 * (1 - p / 0.5), r.loss(), 1e-12);
        assertEquals(1 - cos, DirectionalClipLoss.compute(train, frozen, deltaT, 0, 0.5).loss(), 1e-12);
        // The gap: unit vectors x and y are √2 apart.
        assertEquals(Math.sqrt(2), DirectionalClipLoss.textGap(new float[][] {{3, 0, 0}}, new float[][] {{0, 5, 0}}), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> DirectionalClipLoss.compute(train, frozen, deltaT, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> DirectionalClipLoss.compute(train, frozen, deltaT, -1, 0.5));
    }

    @Test
    void rejectsBadInput() {
        float[] t = {1, 0};
        assertThrows(IllegalArgumentException.class, () -> DirectionalClipLoss.compute(new float[][] {{Float.NaN, 1}}, new float[][] {{1, 1}}, t));
        assertThrows(IllegalArgumentException.class, () -> DirectionalClipLoss.compute(new float[][] {{1, 1}}, new float[][] {{1, 1}}, new float[] {2, 0}));
        assertThrows(IllegalArgumentException.class, () -> DirectionalClipLoss.textDirection(new float[][] {{1, 0}}, new float[][] {{2, 0}}));
    }

    @Test
    void matchesTheGoldenPurgeStepLossAndEmbeddingGradient() {
        Path file = Path.of(TestData.golden(), "cases/purge_step.safetensors");
        Assertions.assertTrue(Files.exists(file));
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            float[][] src = rows(f.floats("text_src_features"), 3);
            float[][] tgt = rows(f.floats("text_tgt_features"), 3);
            float[] deltaT = DirectionalClipLoss.textDirection(src, tgt);
            float[] expectedT = f.floats("delta_T");
            for (int i = 0; i < deltaT.length; i++) assertEquals(expectedT[i], deltaT[i], 2e-6, "delta_T[" + i + "]");
            DirectionalClipLoss.Result r = DirectionalClipLoss.compute(rows(f.floats("image_embeds_train"), 2),
                    rows(f.floats("image_embeds_frozen"), 2), deltaT);
            assertEquals(f.floats("loss")[0], r.loss(), 2e-5);
            float[] cos = f.floats("cos");
            for (int i = 0; i < 2; i++) assertEquals(cos[i], r.cos()[i], 2e-5);
            float[] g = f.floats("grad_image_embeds_train");
            for (int i = 0; i < g.length; i++) assertEquals(g[i], r.gradient()[i / 16][i % 16], 2e-5 + 1e-3 * Math.abs(g[i]), "grad[" + i + "]");
        }
    }
}
