package dev.clif.purge;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;
import dev.clif.sampling.StableDiffusion;
import dev.clif.model.UNet;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * UCE's closed form: W' = W·T minimises J (its gradient vanishes there, by central finite differences, while the same
 * differences match the analytic gradient elsewhere), the ridge appears only where the solve is ill-conditioned, and a
 * purge of the golden tiny-sd keeps preserved prompts' keys and values while moving the erased ones onto the target's.
 */
class UceMethodTest {
    static final Path GOLDEN = dev.clif.TestData.goldenPath();

    /** A random problem: erased tokens c_i with targets c'_i, preserved tokens c_j, a weight W [out, d]. */
    record Problem(int d, int out, double[][] c, double[][] cp, double[][] keep, double[] w) {
        static Problem random(long seed, int d, int out, int erased, int kept) {
            SplittableRandom r = new SplittableRandom(seed);
            double[][] c = new double[erased][d], cp = new double[erased][d], keep = new double[kept][d];
            for (double[][] m : new double[][][] {c, cp, keep})
                for (double[] v : m) for (int i = 0; i < d; i++) v[i] = r.nextGaussian();
            double[] w = new double[out * d];
            for (int i = 0; i < w.length; i++) w[i] = r.nextGaussian();
            return new Problem(d, out, c, cp, keep, w);
        }

        UceMethod.Statistics statistics() {
            double[] sc = new double[d * d], sn = new double[d * d], sq = new double[d * d], sp = new double[d * d];
            for (int k = 0; k < c.length; k++) outer(sc, c[k], c[k]);
            for (int k = 0; k < c.length; k++) outer(sn, cp[k], c[k]);
            for (int k = 0; k < c.length; k++) outer(sq, cp[k], cp[k]);
            for (double[] v : keep) outer(sp, v, v);
            return new UceMethod.Statistics(d, sc, sn, sq, sp, c.length, keep.length);
        }

        /** J(W') = e Σ‖W'c − W c'‖² + λ Σ‖W'c_j − W c_j‖² + r‖W' − W‖². */
        double objective(double[] w2, double e, double lambda, double ridge) {
            double j = 0;
            for (int k = 0; k < c.length; k++) j += e * dist2(w2, c[k], w, cp[k]);
            for (double[] v : keep) j += lambda * dist2(w2, v, w, v);
            for (int i = 0; i < w.length; i++) j += ridge * (w2[i] - w[i]) * (w2[i] - w[i]);
            return j;
        }

        /** ∂J/∂W' = 2[e Σ (W'c − Wc')cᵀ + λ Σ (W'c_j − W c_j)c_jᵀ + r(W' − W)]. */
        double[] gradient(double[] w2, double e, double lambda, double ridge) {
            double[] g = new double[w.length];
            for (int k = 0; k < c.length; k++) addOuter(g, e, w2, c[k], w, cp[k], c[k]);
            for (double[] v : keep) addOuter(g, lambda, w2, v, w, v, v);
            for (int i = 0; i < w.length; i++) g[i] += 2 * ridge * (w2[i] - w[i]);
            return g;
        }

        double[] edited(double[] t) {
            double[] w2 = new double[w.length];
            for (int o = 0; o < out; o++)
                for (int j = 0; j < d; j++) {
                    double s = 0;
                    for (int k = 0; k < d; k++) s += w[o * d + k] * t[k * d + j];
                    w2[o * d + j] = s;
                }
            return w2;
        }

        private double dist2(double[] a, double[] x, double[] b, double[] y) {
            double s = 0;
            for (int o = 0; o < out; o++) {
                double u = 0;
                for (int i = 0; i < d; i++) u += a[o * d + i] * x[i] - b[o * d + i] * y[i];
                s += u * u;
            }
            return s;
        }

        private void addOuter(double[] g, double scale, double[] a, double[] x, double[] b, double[] y, double[] col) {
            for (int o = 0; o < out; o++) {
                double u = 0;
                for (int i = 0; i < d; i++) u += a[o * d + i] * x[i] - b[o * d + i] * y[i];
                for (int i = 0; i < d; i++) g[o * d + i] += 2 * scale * u * col[i];
            }
        }

        private static void outer(double[] m, double[] a, double[] b) {
            int d = a.length;
            for (int i = 0; i < d; i++) for (int j = 0; j < d; j++) m[i * d + j] += a[i] * b[j];
        }
    }

    /** Central differences of J along each coordinate of W'. */
    static double[] finiteDifferences(Problem p, double[] w2, double e, double lambda, double ridge, double h) {
        double[] g = new double[w2.length];
        for (int i = 0; i < w2.length; i++) {
            double[] plus = w2.clone(), minus = w2.clone();
            plus[i] += h;
            minus[i] -= h;
            g[i] = (p.objective(plus, e, lambda, ridge) - p.objective(minus, e, lambda, ridge)) / (2 * h);
        }
        return g;
    }

    static double norm(double[] v) {
        double s = 0;
        for (double x : v) s += x * x;
        return Math.sqrt(s);
    }

    @Test
    void theClosedFormIsTheMinimiser() {
        for (double ridge : new double[] {0, 0.3}) {
            Problem p = Problem.random(7, 6, 4, 5, 9);
            double lambda = 0.4;
            UceMethod.Solution sol = UceMethod.solve(p.statistics(), 1.0, lambda, ridge);
            assertEquals(ridge, sol.ridge());
            double[] w2 = p.edited(sol.t());
            // The finite differences are right: at W itself they match the analytic gradient, which is far from 0 there.
            double[] atW = finiteDifferences(p, p.w(), 1.0, lambda, ridge, 1e-5);
            double[] analytic = p.gradient(p.w(), 1.0, lambda, ridge);
            double scale = norm(analytic);
            assertTrue(scale > 1, "the objective's gradient at W is not small: " + scale);
            for (int i = 0; i < atW.length; i++) assertEquals(analytic[i], atW[i], 1e-5 * scale, "coordinate " + i);
            // At W' the gradient vanishes: every central difference is ~0 against the gradient's size at W.
            double[] atOpt = finiteDifferences(p, w2, 1.0, lambda, ridge, 1e-5);
            assertTrue(norm(atOpt) < 1e-7 * scale, "|∇J(W')| = " + norm(atOpt) + " vs |∇J(W)| = " + scale);
            assertTrue(norm(p.gradient(w2, 1.0, lambda, ridge)) < 1e-9 * scale);
            // and W' is a minimum: any step away costs
            SplittableRandom r = new SplittableRandom(3);
            double j0 = p.objective(w2, 1.0, lambda, ridge);
            for (int k = 0; k < 20; k++) {
                double[] q = w2.clone();
                for (int i = 0; i < q.length; i++) q[i] += 1e-3 * r.nextGaussian();
                assertTrue(p.objective(q, 1.0, lambda, ridge) > j0);
            }
        }
    }

    @Test
    void theRidgeComesOnlyWhereTheSolveIsIllConditioned() {
        // 3 erased tokens in 6 dimensions and nothing preserved: singular, so auto adds the ridge that gives condition 1e6
        Problem p = Problem.random(11, 6, 4, 3, 0);
        UceMethod.Solution sol = UceMethod.solve(p.statistics(), 1.0, 0.1, PurgeConfig.RIDGE_AUTO);
        assertTrue(sol.ridge() > 0, sol.ridgeReason());
        assertTrue(sol.ridgeReason().startsWith("ill-conditioned"), sol.ridgeReason());
        assertEquals(UceMethod.CONDITION_LIMIT, (sol.eigMax() + sol.ridge()) / (sol.eigMin() + sol.ridge()), 1e-3 * UceMethod.CONDITION_LIMIT);
        // and it is still the minimiser of J with that ridge
        double[] w2 = p.edited(sol.t());
        double scale = norm(p.gradient(p.w(), 1.0, 0.1, sol.ridge()));
        assertTrue(norm(p.gradient(w2, 1.0, 0.1, sol.ridge())) < 1e-6 * scale);
        // with enough preserved tokens the factor is well-conditioned: no ridge
        UceMethod.Solution full = UceMethod.solve(Problem.random(12, 6, 4, 3, 40).statistics(), 1.0, 0.1, PurgeConfig.RIDGE_AUTO);
        assertEquals(0.0, full.ridge());
        assertTrue(full.ridgeReason().startsWith("none needed"), full.ridgeReason());
        ClifException e = assertThrows(ClifException.class, () -> UceMethod.solve(p.statistics(), 1.0, 0.1, 0.0));
        assertTrue(e.getMessage().contains("singular"), e.getMessage());
    }

    @Test
    void aPurgeOfTinySdKeepsPreservedKeysAndValuesAndMovesTheErasedOnes(@TempDir Path tmp) throws Exception {
        org.junit.jupiter.api.Assertions.assertTrue(Files.isDirectory(GOLDEN.resolve("tiny-sd")), "golden tiny models not found");
        Path base = GOLDEN.resolve("tiny-sd");
        Path keep = tmp.resolve("keep.txt");
        List<String> kept = List.of("a photo of a dog", "a green tree", "a city at night", "a bowl of fruit");
        Files.writeString(keep, String.join("\n", kept) + "\n");
        Path out = tmp.resolve("uce");
        PurgeConfig cfg = PurgeConfig.builder().concept("a red car=>a blue car").method(PurgeConfig.Method.UCE)
                .preserve(keep, 0).ucePreserveScale(10).outputDir(out).build();
        long t0 = System.nanoTime();
        PurgeResult r = new Purger(cfg, base, null).run(null);
        double secs = (System.nanoTime() - t0) / 1e9;
        assertTrue(secs < 60, "a closed form takes seconds: " + secs);
        assertTrue(Files.isRegularFile(r.delta()) && Files.isDirectory(r.modelDir().resolve("unet")));
        assertNull(r.lossCurve());
        JsonNode report = new ObjectMapper().readTree(r.report().toFile());
        assertEquals("uce", report.path("config").path("method").asText());
        assertEquals("uce", report.path("closed_form").path("method").asText());
        assertTrue(report.path("closed_form").has("ridge_reason"));
        assertEquals(r.trainableParameters().size(), report.path("closed_form").path("layers").size());

        try (TensorScope s = TensorScope.open();
             StableDiffusion sd = StableDiffusion.load(base, Device.CPU, DType.F32);
             UNet edited = UNet.load(base.resolve("unet"), Device.CPU, DType.F32)) {
            PurgedModel.applyDelta(edited, base, r.delta());
            List<String> names = r.trainableParameters();
            assertFalse(names.isEmpty());
            assertTrue(names.stream().allMatch(KvPreservation::readsText));
            for (String name : names) {
                Tensor w = sd.unet().parameter(name), w2 = edited.parameter(name);
                assertTrue(w.maxAbsDiff(w2) > 1e-4, name + " did not change");
                // preserved prompts: K/V within 5 % (relative, over every token)
                for (String text : kept) {
                    Tensor e = sd.encodePrompts(List.of(text), 0).reshape(77, 32);
                    Tensor before = e.matmul(w.transpose()), after = e.matmul(w2.transpose());
                    double rel = Math.sqrt(Tensor.axpby(1, after, -1, before).sumOfSquares() / before.sumOfSquares());
                    assertTrue(rel < 0.05, name + " on '" + text + "': relative K/V change " + rel);
                }
                // the erased prompt's aligned tokens move toward the target's K/V (at λ = 10 the preserved padding tokens hold them back)
                int lastOld = sd.tokenizer().encode("a red car").length - 2, lastNew = sd.tokenizer().encode("a blue car").length - 2;
                assertEquals(lastOld, lastNew);
                Tensor src = sd.encodePrompts(List.of("a red car"), 0).reshape(77, 32).narrow(0, lastOld, 77 - lastOld);
                Tensor tgt = sd.encodePrompts(List.of("a blue car"), 0).reshape(77, 32).narrow(0, lastNew, 77 - lastNew);
                Tensor goal = tgt.matmul(w.transpose());
                double gap0 = Tensor.axpby(1, src.matmul(w.transpose()), -1, goal).sumOfSquares();
                double gap1 = Tensor.axpby(1, src.matmul(w2.transpose()), -1, goal).sumOfSquares();
                assertTrue(gap1 < 0.5 * gap0, name + ": erased K/V gap " + gap0 + " -> " + gap1);
            }
        }
    }

    @Test
    void refusals(@TempDir Path tmp) {
        org.junit.jupiter.api.Assertions.assertTrue(Files.isDirectory(GOLDEN.resolve("tiny-sd")), "golden tiny models not found");
        Path base = GOLDEN.resolve("tiny-sd");
        PurgeConfig noxattn = PurgeConfig.builder().concept("red=>blue").method(PurgeConfig.Method.UCE).params("noxattn")
                .outputDir(tmp.resolve("a")).build();
        ClifException e = assertThrows(ClifException.class, () -> new Purger(noxattn, base, null).run(null));
        assertTrue(e.getMessage().contains("keys and values only"), e.getMessage());
        ClifException clip = assertThrows(ClifException.class,
                () -> new Purger(PurgeConfig.builder().concept("red=>blue").outputDir(tmp.resolve("b")).build(), base, null));
        assertTrue(clip.getMessage().contains("needs the loss CLIP"), clip.getMessage());
        ClifException ridge = assertThrows(ClifException.class,
                () -> PurgeConfig.builder().concept("red=>blue").method(PurgeConfig.Method.UCE).uceRidge(-2).outputDir(tmp.resolve("c")).build());
        assertTrue(ridge.getMessage().contains("--uce-ridge"), ridge.getMessage());
    }
}
