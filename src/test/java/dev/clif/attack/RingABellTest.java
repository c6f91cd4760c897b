package dev.clif.attack;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.TestData;
import dev.clif.model.ClipTextEncoder;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.text.ClipTokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** Ring-A-Bell's genetic search and concept vector on the golden tiny-sd text encoder. */
class RingABellTest {
    static final Path SD = TestData.goldenPath().resolve("tiny-sd");

    @Test
    void geneticSearchFindsTheKnownOptimumOfAConstructedTarget() {
        ClipTokenizer tok = ClipTokenizer.load(SD.resolve("tokenizer"));
        try (ClipTextEncoder enc = ClipTextEncoder.load(SD.resolve("text_encoder"), Device.CPU, DType.F32)) {
            RingABell rab = new RingABell(enc, tok);
            int[] vocabulary = {320, 1929, 2368, 3086, 4160, 5079, 6687, 7713}; // 8 ordinary ids: 512 sequences of 3
            int[] known = {4160, 320, 6687};
            // the target is exactly the embedding of a known sequence: its fitness is 0 and nothing else reaches 0
            float[] target = rab.embedIds(new long[][] {rab.row(known)})[0];
            RingABell.Settings s = new RingABell.Settings(known.length, 32, 60, 0.5, 0.5, 7, vocabulary);
            int[] generations = {0};
            RingABell.Result r = rab.search(target, s, g -> generations[0] = g);
            assertEquals(60, generations[0]);
            assertArrayEquals(known, r.ids(), "found " + Arrays.toString(r.ids()));
            // 0 up to rounding: the search embeds its candidates in batches, whose GEMMs round differently from the
            // target's single row (5e-12 on an EPYC); any other sequence is orders of magnitude further
            assertEquals(0.0, r.fitness(), 1e-9);
            assertTrue(r.initialFitness() > 1e-6, "the first random generation does not hold the optimum by chance");
            // a different seed finds it too: the search, not the seed, does the work
            RingABell.Result again = rab.search(target, new RingABell.Settings(3, 32, 60, 0.5, 0.5, 8, vocabulary), null);
            assertArrayEquals(known, again.ids());
        }
    }

    @Test
    void conceptVectorIsTheMeanDifferenceAndTheTargetAddsEtaTimesIt() {
        ClipTokenizer tok = ClipTokenizer.load(SD.resolve("tokenizer"));
        try (ClipTextEncoder enc = ClipTextEncoder.load(SD.resolve("text_encoder"), Device.CPU, DType.F32)) {
            RingABell rab = new RingABell(enc, tok);
            List<String[]> pairs = List.of(new String[] {"a red circle", "a circle"}, new String[] {"a red square", "a square"});
            float[] v = rab.conceptVector(pairs);
            float[][] e = rab.embed(List.of("a red circle", "a circle", "a red square", "a square"));
            assertEquals(77 * enc.config().hiddenSize(), v.length);
            for (int j = 0; j < v.length; j += 97)
                assertEquals(((e[0][j] - e[1][j]) + (e[2][j] - e[3][j])) / 2.0, v[j], 1e-6);
            float[] t = rab.target("a circle", v, 3);
            for (int j = 0; j < v.length; j += 89) assertEquals(e[1][j] + 3.0 * v[j], t[j], 1e-5);
            assertEquals(0.0, norm(rab.conceptVector(List.<String[]>of(new String[] {"a circle", "a circle"}))), "a pair without difference");
        }
    }

    @Test
    void crossoverAndMutationFollowTheNotebook() {
        int[] vocab = {5, 6, 7, 8, 9};
        RingABell.Settings s = new RingABell.Settings(4, 4, 1, 1.0, 1.0, 1, vocab);
        List<int[]> parents = new ArrayList<>(List.of(new int[] {1, 1, 1, 1}, new int[] {2, 2, 2, 2}));
        List<int[]> next = RingABell.crossover(parents, s, new SplittableRandom(3));
        assertEquals(6, next.size(), "crossover rate 1: every parent plus two children");
        for (int i = 0; i < next.size(); i += 3) {
            int[] p = next.get(i), c1 = next.get(i + 1), c2 = next.get(i + 2);
            assertTrue(Arrays.equals(p, parents.get(i / 3)), "the parent is kept as it was");
            assertNotSame(p, parents.get(i / 3), "as a copy, so a mutation of it leaves the parent alone");
            // one cut point: each child is a head of one parent and the tail of the other, and the two are complementary
            for (int[] c : new int[][] {c1, c2}) {
                int changes = 0;
                for (int k = 1; k < 4; k++) if (c[k] != c[k - 1]) changes++;
                assertTrue(changes <= 1, "one cut: " + Arrays.toString(c));
            }
            for (int k = 1; k < 4; k++) assertEquals(c1[0] + c2[0], c1[k] + c2[k], "complementary children");
            assertEquals(p[3], c2[3], "the second child (partner's head, parent's tail) ends as the parent does");
        }
        List<int[]> mutated = RingABell.mutate(List.of(new int[] {1, 1, 1, 1}), s, new SplittableRandom(4));
        int changed = 0;
        for (int x : mutated.get(0)) if (x != 1) {
            changed++;
            assertTrue(x >= 5 && x <= 9, "a mutation draws from the vocabulary");
        }
        assertEquals(1, changed, "mutation rate 1: exactly one position of each individual");
    }

    private static double norm(float[] v) {
        double s = 0;
        for (float x : v) s += x * x;
        return Math.sqrt(s);
    }
}
