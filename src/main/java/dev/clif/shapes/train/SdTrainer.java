package dev.clif.shapes.train;

import dev.clif.model.AdamW;
import dev.clif.model.Autograd;
import dev.clif.model.ClipTextEncoder;
import dev.clif.model.UNet;
import dev.clif.model.Vae;
import dev.clif.shapes.ShapesDataset;
import dev.clif.shapes.ShapesWorld;
import dev.clif.tensor.DType;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;
import dev.clif.text.ClipTokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains the UNet of a tiny Stable Diffusion with the standard ε-prediction loss on SD's noise schedule
 * (scaled_linear betas 0.00085..0.012, 1000 steps): pictures are encoded by the trained VAE (a sample of its
 * posterior, times its scaling factor), a timestep t is drawn uniformly, x_t = sqrt(ᾱ_t) z + sqrt(1 - ᾱ_t) ε,
 * and the loss is the mean squared error between the UNet's prediction and ε. 10% of captions are replaced by
 * the empty caption, so the model also learns the unconditional prediction classifier-free guidance needs.
 *
 * <p>The text encoder is frozen: it is the text tower of the shapes CLIP, trained contrastively before
 * (as SD 1.x conditions on a frozen OpenAI CLIP text encoder). Its outputs for the world's ~400 captions are
 * computed once and cached.
 */
public final class SdTrainer {
    private static final Logger log = LoggerFactory.getLogger(SdTrainer.class);
    static final String STAGE = "unet";

    public record Config(String unetJson, int steps, int batch, double lr, int warmup, double captionDropout,
                         int checkpointEvery) {
        public static Config standard() {
            return new Config(ShapesModels.unetJson(), 6000, 32, 1e-3, 100, 0.1, 100);
        }
    }

    public record Result(UNet unet, TrainLoop.Stats stats) {}

    private SdTrainer() {}

    public static Result train(Config c, ShapesWorld world, Vae vae, ClipTextEncoder text, ClipTokenizer tokenizer, long seed,
                               Path checkpoint, boolean resume, long deadline, TrainLoop.Listener listener) {
        UNet unet = UNet.create(dev.clif.model.UNetConfig.parse(c.unetJson(), "unet config"));
        try {
            Init.initialise(unet, seed, null);
            long params = unet.parameterCount();
            Map<String, float[]> cond = encodeCaptions(text, tokenizer);
            double[] alphas = ShapesModels.alphasCumprod();
            try (AdamW opt = new AdamW(unet, unet.parameterNames(), AdamW.Config.of(c.lr()))) {
                TrainLoop.Stats stats = TrainLoop.run(new TrainLoop.Plan(STAGE, c.steps(), c.lr(), c.warmup(), c.checkpointEvery(),
                        checkpoint, resume, seed, deadline), unet, opt, params, listener, TrainLoop.Extra.NONE,
                        (step, lr) -> step(unet, opt, vae, cond, alphas, c, world, seed, step));
                log.info("unet: {} steps in {} s, loss {} -> {}", stats.losses().length, String.format("%.1f", stats.seconds()),
                        String.format("%.4f", stats.firstMean(50)), String.format("%.4f", stats.lastMean(50)));
                return new Result(unet, stats);
            }
        } catch (RuntimeException e) {
            unet.close();
            throw e;
        }
    }

    /** The frozen text encoder's last hidden state for every caption of the world and for "". */
    static Map<String, float[]> encodeCaptions(ClipTextEncoder text, ClipTokenizer tokenizer) {
        List<String> all = new ArrayList<>(ShapesModels.captions());
        all.add("");
        Map<String, float[]> out = new HashMap<>();
        int len = tokenizer.maxLength(), chunk = 64;
        for (int from = 0; from < all.size(); from += chunk) {
            List<String> part = all.subList(from, Math.min(all.size(), from + chunk));
            try (TensorScope scope = TensorScope.open()) {
                long[][] rows = tokenizer.encodeBatch(part);
                long[] flat = new long[rows.length * len];
                for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, flat, i * len, len);
                float[] h = text.encode(Tensor.of(flat, rows.length, len)).toFloatArray();
                int per = h.length / rows.length;
                for (int i = 0; i < rows.length; i++) out.put(part.get(i), Arrays.copyOfRange(h, i * per, (i + 1) * per));
            }
        }
        return out;
    }

    private static double step(UNet unet, AdamW opt, Vae vae, Map<String, float[]> cond, double[] alphas, Config c,
                               ShapesWorld world, long seed, int step) {
        SplittableRandom rnd = TrainLoop.stepRandom(seed, 4, step);
        int b = c.batch(), side = world.size();
        ShapesDataset.Batch batch = Batches.draw(world, rnd.nextLong(), b, false);
        try (TensorScope scope = TensorScope.open()) {
            Vae.Posterior post = vae.encode(Tensor.of(batch.images(), b, 3, side, side), false);
            float[] mean = post.mean().toFloatArray(), logvar = post.logvar().toFloatArray();
            long[] shape = post.mean().shape();
            int n = mean.length, per = n / b;
            double scale = vae.scalingFactor();
            float[] noise = TrainLoop.gaussian(rnd, n), noisy = new float[n];
            long[] t = new long[b];
            float[] ctx = null;
            int ctxPer = 0;
            for (int i = 0; i < b; i++) {
                t[i] = rnd.nextInt(alphas.length);
                double a = Math.sqrt(alphas[(int) t[i]]), s = Math.sqrt(1 - alphas[(int) t[i]]);
                for (int k = i * per; k < (i + 1) * per; k++) {
                    double z = (mean[k] + Math.exp(0.5 * logvar[k]) * rnd.nextGaussian()) * scale;
                    noisy[k] = (float) (a * z + s * noise[k]);
                }
                String caption = rnd.nextDouble() < c.captionDropout() ? "" : batch.captions()[i];
                float[] e = cond.get(caption);
                if (ctx == null) {
                    ctxPer = e.length;
                    ctx = new float[b * ctxPer];
                }
                System.arraycopy(e, 0, ctx, i * ctxPer, ctxPer);
            }
            int width = unet.config().crossAttentionDim().get(0);
            Tensor out = unet.forward(Tensor.of(noisy, shape), Tensor.of(t, b), Tensor.of(ctx, b, ctxPer / width, width), true);
            float[] pred = out.toFloatArray();
            double mse = 0;
            float[] g = new float[n];
            for (int i = 0; i < n; i++) {
                double d = pred[i] - noise[i];
                mse += d * d;
                g[i] = (float) (2 * d / n);
            }
            Autograd.backward(out, Tensor.of(g, shape));
            opt.step(1.0);
            opt.zeroGrad();
            return mse / n;
        }
    }

    /** Writes unet/ (config from the recipe, weights). */
    public static void write(Result r, String unetJson, Path dir, DType dtype) {
        ModelWriter.writeUnet(r.unet(), unetJson, dir, dtype);
    }
}
