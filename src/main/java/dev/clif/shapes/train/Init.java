package dev.clif.shapes.train;

import dev.clif.model.NativeModule;
import dev.clif.tensor.Tensor;

import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Initial weights for training from scratch, as PyTorch's layers initialise themselves: a conv / linear weight
 * ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), biases 0, norm weights 1; embeddings ~ N(0, 0.02^2); CLIP's
 * logit_scale = ln(1/0.07). The token embedding gets random rows only for {@code usedTokens} and zeros
 * elsewhere: rows of tokens the shapes world never writes receive no gradient, so they stay zero, and the
 * saved checkpoint compresses to a fraction of its 49408 x hidden size.
 */
final class Init {
    private Init() {}

    static void initialise(NativeModule m, long seed, Set<Integer> usedTokens) {
        List<String> names = m.parameterNames();
        SplittableRandom root = new SplittableRandom(seed);
        for (String n : names) {
            SplittableRandom rnd = root.split();
            long[] shape;
            try (Tensor p = m.parameter(n)) {
                shape = p.shape();
            }
            int count = 1;
            for (long d : shape) count = Math.multiplyExact(count, (int) d);
            float[] v = new float[count];
            if (n.equals("logit_scale")) {
                v[0] = (float) Math.log(1 / 0.07);
            } else if (n.endsWith("bias")) {
                // zeros
            } else if (n.contains("embedding") || shape.length == 1 && !n.contains("norm")) {
                boolean tokens = n.endsWith("token_embedding.weight") && usedTokens != null;
                int width = (int) shape[shape.length - 1];
                for (int i = 0; i < count; i++) {
                    if (tokens && !usedTokens.contains(i / width)) continue;
                    v[i] = (float) (0.02 * rnd.nextGaussian());
                }
            } else if (shape.length == 1) {
                java.util.Arrays.fill(v, 1f); // norm weights
            } else {
                int fanIn = count / (int) shape[0];
                double bound = 1 / Math.sqrt(fanIn);
                for (int i = 0; i < count; i++) v[i] = (float) rnd.nextDouble(-bound, bound);
            }
            try (Tensor t = Tensor.of(v, shape)) {
                m.setParameter(n, t);
            }
        }
    }
}
