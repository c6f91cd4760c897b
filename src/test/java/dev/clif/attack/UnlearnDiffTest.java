package dev.clif.attack;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.TestData;
import dev.clif.model.Autograd;
import dev.clif.model.ClipTextEncoder;
import dev.clif.model.UNet;
import dev.clif.sampling.DdimScheduler;
import dev.clif.sampling.SchedulerConfig;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;
import dev.clif.text.ClipTokenizer;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * UnlearnDiff on the golden tiny-sd: the gradient of the whole chain (token embeddings → text encoder → UNet → MSE) matches
 * central finite differences in float64, the search's pieces (simplex projection, Adam) are what PyTorch computes, and
 * the search leaves the model's parameters without gradients.
 */
class UnlearnDiffTest {
    static final Path SD = TestData.goldenPath().resolve("tiny-sd");

    @Test
    void gradientOfTheFullChainMatchesCentralFiniteDifferences() {
        ClipTokenizer tok = ClipTokenizer.load(SD.resolve("tokenizer"));
        try (TensorScope s = TensorScope.open();
             ClipTextEncoder enc = ClipTextEncoder.load(SD.resolve("text_encoder"), Device.CPU, DType.F64);
             UNet unet = UNet.load(SD.resolve("unet"), Device.CPU, DType.F64)) {
            UnlearnDiff ud = new UnlearnDiff(enc, tok, unet, new DdimScheduler(SchedulerConfig.read(SD.resolve("scheduler"))));
            int[] prefix = {320, 1929};
            long[] row = ud.row(prefix, Attack.body(tok, "a red circle"));
            int c = unet.config().inChannels();
            Tensor x0 = Tensor.randn(1, DType.F64, Device.CPU, 1, c, 8, 8);
            Tensor noise = Tensor.randn(2, DType.F64, Device.CPU, 1, c, 8, 8);
            int t = 431;
            Tensor embeds = enc.embed(new long[][] {row});
            Autograd.setRequiresGrad(embeds, true);
            double loss = ud.loss(embeds, x0, t, noise, true);
            assertTrue(loss > 0);
            double[] grad = Autograd.grad(embeds).toDoubleArray();
            double[] base = embeds.detach().toDoubleArray();
            long[] shape = embeds.shape();
            int hidden = (int) shape[2];
            SplittableRandom rng = new SplittableRandom(9);
            double h = 1e-6, largest = 0;
            for (int trial = 0; trial < 16; trial++) {
                int pos = 1 + rng.nextInt(prefix.length + 4), d = rng.nextInt(hidden); // the prefix and the prompt's tokens
                int idx = pos * hidden + d;
                double numeric = (at(ud, base, shape, idx, h, x0, t, noise) - at(ud, base, shape, idx, -h, x0, t, noise)) / (2 * h);
                assertEquals(numeric, grad[idx], 1e-6 * Math.max(1e-3, Math.abs(numeric)) + 1e-9, "dL/dE at position " + pos + ", dim " + d);
                largest = Math.max(largest, Math.abs(numeric));
            }
            assertTrue(largest > 1e-6, "the checked gradients are not all zero");
            // the loss reached the embeddings only: no parameter of either model gathered a gradient
            for (String n : unet.parameterNames().subList(0, 3)) assertThrows(RuntimeException.class, () -> unet.gradient(n));
            assertThrows(RuntimeException.class, () -> enc.gradient(ClipTextEncoder.TOKEN_EMBEDDING));
        }
    }

    private static double at(UnlearnDiff ud, double[] base, long[] shape, int idx, double delta, Tensor x0, int t, Tensor noise) {
        double[] x = base.clone();
        x[idx] += delta;
        try (TensorScope s = TensorScope.open()) {
            return ud.loss(Tensor.of(x, shape), x0, t, noise, false);
        }
    }

    @Test
    void searchGivesDiscreteTokensOfTheVocabularyAndIsReproducible() {
        ClipTokenizer tok = ClipTokenizer.load(SD.resolve("tokenizer"));
        try (TensorScope s = TensorScope.open();
             ClipTextEncoder enc = ClipTextEncoder.load(SD.resolve("text_encoder"), Device.CPU, DType.F32);
             UNet unet = UNet.load(SD.resolve("unet"), Device.CPU, DType.F32)) {
            UnlearnDiff ud = new UnlearnDiff(enc, tok, unet, new DdimScheduler(SchedulerConfig.read(SD.resolve("scheduler"))));
            int[] vocabulary = {320, 1929, 2368, 3086, 4160, 5079};
            Tensor x0 = Tensor.randn(3, DType.F32, Device.CPU, 1, unet.config().inChannels(), 8, 8);
            int[] body = Attack.body(tok, "a red circle");
            UnlearnDiff.Result r = ud.search(body, x0, new UnlearnDiff.Settings(3, 12, 0.01, 0.1, 4, vocabulary), null);
            assertEquals(3, r.prefix().length);
            for (int id : r.prefix()) assertTrue(Arrays.stream(vocabulary).anyMatch(v -> v == id), id + " in the vocabulary");
            assertEquals(12, r.losses().length);
            for (double l : r.losses()) assertTrue(l > 0 && Double.isFinite(l));
            // the same settings give the same search
            assertArrayEquals(r.losses(), ud.search(body, x0, new UnlearnDiff.Settings(3, 12, 0.01, 0.1, 4, vocabulary), null).losses());
        }
    }

    @Test
    void simplexProjectionIsTheEuclideanOne() {
        float[] v = {0.5f, 0.5f, 0.5f, -1f};
        SimplexProjection.project(v, 0, 4);
        assertArrayEquals(new float[] {1 / 3f, 1 / 3f, 1 / 3f, 0f}, v, 1e-7f);
        float[] w = {9f, 2f, 2.5f, 0f, 0.7f, 0.1f};
        SimplexProjection.project(w, 2, 4); // a row inside a larger array, as the search stores P
        assertArrayEquals(new float[] {9f, 2f, 1f, 0f, 0f, 0f}, w, 1e-6f, "(2.5, 0, .7, .1) → (1, 0, 0, 0): θ = 1.5");
        float[] u = {0.2f, 0.3f, 0.5f};
        SimplexProjection.project(u, 0, 3);
        assertArrayEquals(new float[] {0.2f, 0.3f, 0.5f}, u, 1e-7f, "a point of the simplex stays");
        SplittableRandom rng = new SplittableRandom(1);
        float[] x = new float[50];
        for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
        SimplexProjection.project(x, 0, x.length);
        double sum = 0;
        for (float e : x) {
            assertTrue(e >= 0);
            sum += e;
        }
        assertEquals(1.0, sum, 1e-5);
    }

    @Test
    void adamStepIsPyTorchsWithL2WeightDecayOnTheClippedGradient() {
        UnlearnDiff.Settings s = new UnlearnDiff.Settings(1, 1, 0.01, 0.1, 0, new int[] {1});
        float[] p = {0.25f, 0.5f}, m = new float[2], v = new float[2];
        float[] g = {3f, -0.2f}; // the first is clipped to 1 by the straight-through hardtanh
        UnlearnDiff.adamStep(p, g, m, v, 1, s);
        // step 1: m̂ = g', v̂ = g'^2, so p -= lr·sign(g') (up to eps), g' = clip(g) + 0.1·p
        assertEquals(0.25 - 0.01, p[0], 1e-7);
        assertEquals(0.5 - 0.01 * Math.signum(-0.2 + 0.05), p[1], 1e-7);
        double g0 = 1 + 0.1 * p[0];
        UnlearnDiff.adamStep(p, new float[] {1f, 0f}, m, v, 2, s);
        double m0 = 0.9 * 0.1 * (1 + 0.1 * 0.25) + 0.1 * g0, v0 = 0.999 * 0.001 * Math.pow(1 + 0.1 * 0.25, 2) + 0.001 * g0 * g0;
        assertEquals(0.24 - 0.01 * (m0 / (1 - 0.81)) / (Math.sqrt(v0 / (1 - 0.999 * 0.999)) + 1e-8), p[0], 1e-6);
    }
}
