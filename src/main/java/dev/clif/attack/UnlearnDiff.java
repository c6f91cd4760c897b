package dev.clif.attack;

import dev.clif.model.Autograd;
import dev.clif.model.ClipTextEncoder;
import dev.clif.sampling.StableDiffusion;
import dev.clif.model.UNet;
import dev.clif.sampling.DdimScheduler;
import dev.clif.tensor.DType;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;
import dev.clif.text.ClipTokenizer;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;

/**
 * UnlearnDiffAtk (Zhang et al. 2024): K prefix tokens optimised so that the attacked UNet denoises a target image of
 * the concept well. As the authors' TextGrad attacker (OPTML-Group/Diffusion-MU-Attack, src/attackers/text_grad_.py and
 * src/tasks/classifier_.py) does:
 * <ul>
 *   <li>each prefix token is a distribution P_k on the vocabulary simplex, initialised uniform;</li>
 *   <li>each iteration samples one token per row from P (their straight-through estimator: the forward uses the sampled
 *       token's exact embedding, the backward passes dL/dP = hardtanh(dL/dE · Wᵀ));</li>
 *   <li>the prompt is [BOS, prefix, the prompt's tokens, EOS, pad…] cut to 77; the loss is MSE(ε_θ(x_t, t, c), ε) with
 *       x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε, x0 the target latent, ε fresh noise, no guidance;</li>
 *   <li>Adam (lr 0.01, weight decay 0.1 as PyTorch's L2 term) on P, then each row projected back onto the simplex;</li>
 *   <li>the final prefix is argmax P_k: discrete tokens, decoded to text anyone can paste.</li>
 * </ul>
 * Departures: a random timestep per iteration (the authors sweep a fixed timestep list and stop early when their
 * classifier flags an image; Clif judges once, after the search, through the eval engine), and the special tokens are
 * left out of the vocabulary (a sampled EOS would move the end of the prompt and not survive decoding).
 */
public final class UnlearnDiff {
    /** Settings; {@code vocabulary} the ids a prefix token may take. */
    public record Settings(int tokens, int iterations, double lr, double weightDecay, long seed, int[] vocabulary) {
        public Settings {
            if (tokens < 1) throw new IllegalArgumentException("tokens must be at least 1");
            if (iterations < 1) throw new IllegalArgumentException("iterations must be at least 1");
            if (vocabulary == null || vocabulary.length == 0) throw new IllegalArgumentException("empty vocabulary");
            vocabulary = vocabulary.clone();
        }
    }

    /** The argmax prefix, the loss of the first and of the last iteration, and every iteration's loss. */
    public record Result(int[] prefix, double initialLoss, double finalLoss, double[] losses) {}

    private static final double BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8; // torch.optim.Adam's defaults

    private final ClipTextEncoder encoder;
    private final ClipTokenizer tokenizer;
    private final UNet unet;
    private final DdimScheduler schedule;

    public UnlearnDiff(StableDiffusion attacked) {
        this(attacked.textEncoder(), attacked.tokenizer(), attacked.unet(), new DdimScheduler(attacked.schedulerConfig()));
    }

    public UnlearnDiff(ClipTextEncoder encoder, ClipTokenizer tokenizer, UNet unet, DdimScheduler schedule) {
        this.encoder = encoder;
        this.tokenizer = tokenizer;
        this.unet = unet;
        this.schedule = schedule;
    }

    /** The ids the encoder reads: [BOS, prefix, body, EOS, pad…] with body cut so that everything fits 77. */
    public long[] row(int[] prefix, int[] body) {
        int max = tokenizer.maxLength();
        int keep = Math.min(body.length, max - 2 - prefix.length);
        long[] r = new long[max];
        Arrays.fill(r, tokenizer.padId());
        r[0] = tokenizer.bosId();
        for (int k = 0; k < prefix.length; k++) r[1 + k] = prefix[k];
        for (int i = 0; i < keep; i++) r[1 + prefix.length + i] = body[i];
        r[1 + prefix.length + keep] = tokenizer.eosId();
        return r;
    }

    /**
     * One loss evaluation and its gradient: MSE(ε_θ(x_t, t, E(row)), noise) with the prefix (positions 1..K) given as
     * token ids; returns the loss and writes dL/dE of the prefix rows [K·hidden] into {@code gradPrefix} (may be null).
     */
    public double lossAndGrad(long[] row, int k, Tensor x0, int t, Tensor noise, float[] gradPrefix) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor embeds = encoder.embed(new long[][] {row});
            boolean grad = gradPrefix != null;
            if (grad) Autograd.setRequiresGrad(embeds, true);
            double loss = loss(embeds, x0, t, noise, grad);
            if (grad) {
                float[] g = Autograd.grad(embeds).narrow(1, 1, k).toFloatArray();
                System.arraycopy(g, 0, gradPrefix, 0, g.length);
            }
            return loss;
        }
    }

    /**
     * The attack's objective from token embeddings [1, 77, hidden]: MSE(ε_θ(√ᾱ_t x0 + √(1−ᾱ_t) noise, t, E), noise); with
     * {@code grad} its gradient is back-propagated into {@code embeds} (which must require a gradient).
     */
    public double loss(Tensor embeds, Tensor x0, int t, Tensor noise, boolean grad) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor context = encoder.forwardEmbeds(embeds, null, null, 0, grad).lastHiddenState();
            double a = schedule.alphaProd(t);
            Tensor xt = Tensor.axpby(Math.sqrt(a), x0, Math.sqrt(1 - a), noise);
            Tensor timestep = Tensor.of(new long[] {t}, 1).to(x0.device());
            Tensor eps = unet.forward(xt, timestep, context, grad);
            Tensor diff = Tensor.axpby(1, eps.detach(), -1, noise);
            long n = diff.numel();
            double loss = diff.sumOfSquares() / n;
            if (grad) Autograd.backward(eps, diff.scale(2.0 / n));
            return loss;
        }
    }

    /** The search for one prompt: {@code body} its token ids (no BOS/EOS), {@code x0} the target latent [1, C, h, w]. */
    public Result search(int[] body, Tensor x0, Settings s, IntConsumer onIteration) {
        int k = s.tokens(), v = s.vocabulary().length;
        int hidden = encoder.config().hiddenSize();
        SplittableRandom rng = new SplittableRandom(s.seed());
        float[] p = new float[k * v];
        Arrays.fill(p, 1f / v);
        float[] m = new float[k * v], sq = new float[k * v];
        float[] gradE = new float[k * hidden];
        double[] losses = new double[s.iterations()];
        try (TensorScope scope = TensorScope.open()) {
            // dL/dP over the whole table (one matmul with Wᵀ [hidden, vocab]), then the vocabulary's columns on the host
            Tensor w = encoder.tokenEmbeddings().detach().transpose();
            int full = Math.toIntExact(w.shape()[1]);
            float[] gp = new float[k * v];
            for (int it = 0; it < s.iterations(); it++) {
                int[] prefix = new int[k];
                for (int r = 0; r < k; r++) prefix[r] = s.vocabulary()[sample(p, r * v, v, rng)];
                int t = rng.nextInt(schedule.alphasCumprod().length);
                try (TensorScope step = TensorScope.open()) {
                    Tensor noise = Tensor.randn(rng.nextLong(), DType.F32, x0.device(), x0.shape()).to(x0.dtype());
                    losses[it] = lossAndGrad(row(prefix, body), k, x0, t, noise, gradE);
                    float[] all = Tensor.of(gradE, k, hidden).to(w.device(), w.dtype()).matmul(w).toFloatArray(); // [K, vocab]
                    for (int r = 0; r < k; r++)
                        for (int j = 0; j < v; j++) gp[r * v + j] = all[r * full + s.vocabulary()[j]];
                    adamStep(p, gp, m, sq, it + 1, s);
                }
                for (int r = 0; r < k; r++) SimplexProjection.project(p, r * v, v);
                if (onIteration != null) onIteration.accept(it + 1);
            }
        }
        int[] prefix = new int[k];
        for (int r = 0; r < k; r++) prefix[r] = s.vocabulary()[argmax(p, r * v, v)];
        return new Result(prefix, losses[0], losses[losses.length - 1], losses);
    }

    /** torch.optim.Adam with L2 weight decay, on the straight-through gradient hardtanh(g). */
    static void adamStep(float[] p, float[] g, float[] m, float[] sq, int step, Settings s) {
        double c1 = 1 - Math.pow(BETA1, step), c2 = 1 - Math.pow(BETA2, step);
        for (int i = 0; i < p.length; i++) {
            double gi = Math.max(-1, Math.min(1, g[i])) + s.weightDecay() * p[i];
            m[i] = (float) (BETA1 * m[i] + (1 - BETA1) * gi);
            sq[i] = (float) (BETA2 * sq[i] + (1 - BETA2) * gi * gi);
            double denom = Math.sqrt(sq[i] / c2) + EPS;
            p[i] = (float) (p[i] - s.lr() * (m[i] / c1) / denom);
        }
    }

    private static int sample(float[] p, int offset, int n, SplittableRandom rng) {
        double total = 0;
        for (int i = 0; i < n; i++) total += p[offset + i];
        double u = rng.nextDouble() * total, c = 0;
        for (int i = 0; i < n; i++) {
            c += p[offset + i];
            if (u < c) return i;
        }
        for (int i = n - 1; i >= 0; i--) if (p[offset + i] > 0) return i;
        return n - 1;
    }

    private static int argmax(float[] p, int offset, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (p[offset + i] > p[offset + best]) best = i;
        return best;
    }
}
