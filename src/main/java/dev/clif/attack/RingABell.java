package dev.clif.attack;

import dev.clif.ClifException;
import dev.clif.model.ClipTextEncoder;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;
import dev.clif.text.ClipTokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;

/**
 * Ring-A-Bell (Tsai et al. 2024): a concept vector in the text encoder's output space, then a genetic search over K
 * token ids for a prompt whose embedding lies near "the prompt's embedding + η·vector". It reads the text encoder only
 * (the purges measured here change the UNet, so the search is the same for every purge of one base).
 *
 * <p>As the authors' InversePrompt notebook does: the concept vector is the mean over pairs of E(with concept) −
 * E(without), E the encoder's last hidden state over all 77 positions; a candidate is [BOS, K ids, EOS, pad…]; its
 * fitness is Σ (E(candidate) − target)²; each generation keeps the better half, then every kept parent is copied and,
 * with the crossover rate, crossed at one random point with a random other parent (both children kept), then each
 * individual with the mutation rate gets one random position set to a random id. Defaults (the notebook's):
 * population 200, 3000 generations, mutation 0.25, crossover 0.5, K 16, η 3. One departure: the best candidate ever
 * scored is returned (the notebook returns the best of the last generation, which its mutation can have worsened).
 */
public final class RingABell {
    /** The search's settings; {@code vocabulary} the ids a token may take (the notebook: 1..49405, no special tokens). */
    public record Settings(int tokens, int population, int generations, double mutationRate, double crossoverRate, long seed, int[] vocabulary) {
        public Settings {
            if (tokens < 1) throw new IllegalArgumentException("tokens must be at least 1");
            if (population < 2) throw new IllegalArgumentException("population must be at least 2");
            if (generations < 1) throw new IllegalArgumentException("generations must be at least 1");
            if (vocabulary == null || vocabulary.length == 0) throw new IllegalArgumentException("empty vocabulary");
            vocabulary = vocabulary.clone();
        }
    }

    /** The best ids found (K of them), their fitness, and the best fitness of the first generation. */
    public record Result(int[] ids, double fitness, double initialFitness) {}

    private final ClipTextEncoder encoder;
    private final ClipTokenizer tokenizer;

    public RingABell(ClipTextEncoder encoder, ClipTokenizer tokenizer) {
        this.encoder = encoder;
        this.tokenizer = tokenizer;
    }

    /** Every id but the tokenizer's special ones: what the notebook draws from (1..49405 for CLIP's vocabulary). */
    public static int[] ordinaryIds(ClipTokenizer tokenizer, int vocabSize) {
        List<Integer> ids = new ArrayList<>();
        for (int i = 1; i < vocabSize; i++)
            if (i != tokenizer.bosId() && i != tokenizer.eosId() && i != tokenizer.padId()) ids.add(i);
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The encoder's last hidden state of each text, padded to 77 tokens: [n][77·hidden]. */
    public float[][] embed(List<String> texts) {
        long[][] rows = tokenizer.encodeBatch(texts);
        return embedIds(rows);
    }

    float[][] embedIds(long[][] rows) {
        int len = rows[0].length;
        long[] flat = new long[rows.length * len];
        for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, flat, i * len, len);
        try (TensorScope scope = TensorScope.open()) {
            Tensor ids = Tensor.of(flat, rows.length, len).to(encoder.device());
            float[] all = encoder.encode(ids).toFloatArray();
            int per = all.length / rows.length;
            float[][] out = new float[rows.length][];
            for (int i = 0; i < rows.length; i++) out[i] = Arrays.copyOfRange(all, i * per, (i + 1) * per);
            return out;
        }
    }

    /** Ring-A-Bell's concept vector: the mean of E(with) − E(without) over the pairs ([77·hidden]). */
    public float[] conceptVector(List<String[]> pairs) {
        if (pairs.isEmpty()) throw new ClifException("Ring-A-Bell needs at least one concept pair (a prompt with the concept and one without)");
        List<String> with = new ArrayList<>(), without = new ArrayList<>();
        for (String[] p : pairs) {
            with.add(p[0]);
            without.add(p[1]);
        }
        float[][] a = embed(with), b = embed(without);
        double[] sum = new double[a[0].length];
        for (int i = 0; i < a.length; i++)
            for (int j = 0; j < sum.length; j++) sum[j] += (double) a[i][j] - b[i][j];
        float[] v = new float[sum.length];
        for (int j = 0; j < v.length; j++) v[j] = (float) (sum[j] / a.length);
        return v;
    }

    /** target = E(prompt) + η·vector. */
    public float[] target(String prompt, float[] conceptVector, double eta) {
        float[] e = embed(List.of(prompt))[0];
        float[] t = new float[e.length];
        for (int j = 0; j < t.length; j++) t[j] = (float) (e[j] + eta * conceptVector[j]);
        return t;
    }

    /** The genetic search for K ids whose padded prompt's embedding is nearest {@code target}. */
    public Result search(float[] target, Settings s, IntConsumer onGeneration) {
        SplittableRandom rng = new SplittableRandom(s.seed());
        List<int[]> pop = new ArrayList<>();
        for (int i = 0; i < s.population(); i++) pop.add(randomIds(rng, s));
        int[] best = null;
        double bestFitness = Double.POSITIVE_INFINITY, initial = Double.NaN;
        for (int g = 0; g < s.generations(); g++) {
            double[] score = fitness(pop, target);
            Integer[] order = new Integer[pop.size()];
            for (int i = 0; i < order.length; i++) order[i] = i;
            Arrays.sort(order, (x, y) -> Double.compare(score[x], score[y])); // stable: ties keep population order
            if (g == 0) initial = score[order[0]];
            if (score[order[0]] < bestFitness) {
                bestFitness = score[order[0]];
                best = pop.get(order[0]).clone();
            }
            List<int[]> parents = new ArrayList<>();
            for (int i = 0; i < s.population() / 2 && i < order.length; i++) parents.add(pop.get(order[i]));
            if (onGeneration != null) onGeneration.accept(g + 1);
            if (g == s.generations() - 1) break;
            pop = mutate(crossover(parents, s, rng), s, rng);
        }
        return new Result(best, bestFitness, initial);
    }

    private static int[] randomIds(SplittableRandom rng, Settings s) {
        int[] ids = new int[s.tokens()];
        for (int k = 0; k < ids.length; k++) ids[k] = s.vocabulary()[rng.nextInt(s.vocabulary().length)];
        return ids;
    }

    static List<int[]> crossover(List<int[]> parents, Settings s, SplittableRandom rng) {
        List<int[]> next = new ArrayList<>();
        for (int[] p : parents) {
            next.add(p.clone());
            if (rng.nextDouble() < s.crossoverRate()) {
                int[] q = parents.get(rng.nextInt(parents.size()));
                int cut = rng.nextInt(s.tokens()); // the notebook's point 1..K in a row that starts with BOS
                int[] a = p.clone(), b = q.clone();
                System.arraycopy(q, cut, a, cut, s.tokens() - cut);
                System.arraycopy(p, cut, b, cut, s.tokens() - cut);
                next.add(a); // p's head and q's tail, then q's head and p's tail, as the notebook orders them
                next.add(b);
            }
        }
        return next;
    }

    static List<int[]> mutate(List<int[]> pop, Settings s, SplittableRandom rng) {
        for (int[] p : pop)
            if (rng.nextDouble() < s.mutationRate()) p[rng.nextInt(s.tokens())] = s.vocabulary()[rng.nextInt(s.vocabulary().length)];
        return pop;
    }

    /** The padded row the encoder reads for K ids: [BOS, ids, EOS, pad…] (77 tokens). */
    long[] row(int[] ids) {
        long[] r = new long[tokenizer.maxLength()];
        Arrays.fill(r, tokenizer.padId());
        r[0] = tokenizer.bosId();
        for (int k = 0; k < ids.length; k++) r[k + 1] = ids[k];
        r[ids.length + 1] = tokenizer.eosId();
        return r;
    }

    private double[] fitness(List<int[]> pop, float[] target) {
        double[] out = new double[pop.size()];
        final int chunk = 256;
        for (int start = 0; start < pop.size(); start += chunk) {
            int n = Math.min(chunk, pop.size() - start);
            long[][] rows = new long[n][];
            for (int i = 0; i < n; i++) rows[i] = row(pop.get(start + i));
            float[][] e = embedIds(rows);
            for (int i = 0; i < n; i++) {
                double d = 0;
                for (int j = 0; j < target.length; j++) {
                    double x = (double) e[i][j] - target[j];
                    d += x * x;
                }
                out[start + i] = d;
            }
        }
        return out;
    }
}
