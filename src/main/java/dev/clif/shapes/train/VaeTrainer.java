package dev.clif.shapes.train;

import dev.clif.model.AdamW;
import dev.clif.model.Autograd;
import dev.clif.model.Vae;
import dev.clif.model.VaeConfig;
import dev.clif.shapes.ShapesDataset;
import dev.clif.shapes.ShapesWorld;
import dev.clif.tensor.DType;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import java.nio.file.Path;
import java.util.SplittableRandom;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains a tiny {@code AutoencoderKL} on shapes-world pictures: loss = mean squared reconstruction error (pixels
 * in [-1, 1]) + {@code klWeight} x the mean (per latent element) KL divergence of the posterior N(mean, exp(logvar))
 * from N(0, 1). The decoder sees the reparameterised sample z = mean + exp(logvar / 2) ε (ε seeded per step).
 *
 * <p>Gradients: the decoder runs on z as a leaf tensor; a backward from the image with d(MSE)/d(image) gives
 * dL/dz; then, in Java, dL/dmean = dL/dz + w mean / n and dL/dlogvar = dL/dz ε exp(logvar/2) / 2 +
 * w (exp(logvar) - 1) / (2 n); one backward through the encoder from cat(mean, logvar) takes both.
 *
 * <p>After training, the latent scaling factor is 1 / (standard deviation of sampled latents) over
 * {@code scaleBatches} fresh batches, as Stable Diffusion's 0.18215 was measured; it goes into config.json.
 */
public final class VaeTrainer {
    private static final Logger log = LoggerFactory.getLogger(VaeTrainer.class);
    static final String STAGE = "vae";

    public record Config(VaeConfig model, int steps, int batch, double lr, int warmup, double klWeight,
                         int checkpointEvery, int scaleBatches) {
        /** The shipped model's recipe. */
        public static Config standard() {
            return new Config(ShapesModels.vae(), 800, 16, 2e-3, 50, 1e-4, 100, 16);
        }
    }

    /** The trained model (scaling factor in its config) and what the training did. */
    public record Result(Vae vae, VaeConfig config, TrainLoop.Stats stats) {}

    private VaeTrainer() {}

    /**
     * Trains (or, with a checkpoint present and {@code resume}, continues) and returns the model; the caller
     * owns it. Stops early, after a checkpoint, once {@code System.nanoTime()} passes {@code deadline}.
     */
    public static Result train(Config c, ShapesWorld world, long seed, Path checkpoint, boolean resume, long deadline,
                               TrainLoop.Listener listener) {
        Vae vae = Vae.create(c.model());
        try {
            Init.initialise(vae, seed, null);
            long params = vae.parameterCount();
            try (AdamW opt = new AdamW(vae, vae.parameterNames(), AdamW.Config.of(c.lr()))) {
                TrainLoop.Stats stats = TrainLoop.run(new TrainLoop.Plan(STAGE, c.steps(), c.lr(), c.warmup(), c.checkpointEvery(),
                        checkpoint, resume, seed, deadline), vae, opt, params, listener, TrainLoop.Extra.NONE,
                        (step, lr) -> step(vae, opt, c, world, seed, step));
                double scale = scalingFactor(vae, c, world, seed);
                VaeConfig config = withScaling(c.model(), scale);
                log.info("vae: {} steps in {} s, loss {} -> {}, scaling factor {}", stats.losses().length, String.format("%.1f", stats.seconds()),
                        String.format("%.5f", stats.firstMean(20)), String.format("%.5f", stats.lastMean(20)), String.format("%.5f", scale));
                return new Result(vae, config, stats);
            }
        } catch (RuntimeException e) {
            vae.close();
            throw e;
        }
    }

    static VaeConfig withScaling(VaeConfig m, double scale) {
        return new VaeConfig(m.inChannels(), m.outChannels(), m.downBlockTypes(), m.upBlockTypes(), m.blockOutChannels(),
                m.layersPerBlock(), m.actFn(), m.latentChannels(), m.normNumGroups(), m.sampleSize(), scale,
                m.midBlockAddAttention(), m.useQuantConv(), m.usePostQuantConv());
    }

    private static double step(Vae vae, AdamW opt, Config c, ShapesWorld world, long seed, int step) {
        SplittableRandom rnd = TrainLoop.stepRandom(seed, 1, step);
        int side = world.size(), b = c.batch();
        ShapesDataset.Batch batch = Batches.draw(world, rnd.nextLong(), b, false);
        try (TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.of(batch.images(), b, 3, side, side);
            Vae.Posterior post = vae.encode(x, true);
            float[] mean = post.mean().toFloatArray(), logvar = post.logvar().toFloatArray();
            long[] zShape = post.mean().shape();
            int nz = mean.length;
            float[] eps = TrainLoop.gaussian(rnd, nz), sigma = new float[nz], z = new float[nz];
            for (int i = 0; i < nz; i++) {
                sigma[i] = (float) Math.exp(0.5 * logvar[i]);
                z[i] = mean[i] + sigma[i] * eps[i];
            }
            Tensor zt = Tensor.of(z, zShape);
            Autograd.setRequiresGrad(zt, true);
            Tensor recon = vae.decode(zt, true);
            float[] xh = recon.toFloatArray(), xs = batch.images();
            int n = xh.length;
            double mse = 0;
            float[] g = new float[n];
            for (int i = 0; i < n; i++) {
                double d = xh[i] - xs[i];
                mse += d * d;
                g[i] = (float) (2 * d / n);
            }
            mse /= n;
            Autograd.backward(recon, Tensor.of(g, recon.shape()));
            float[] gz = Autograd.grad(zt).toFloatArray();
            double kl = 0;
            int per = nz / b; // latent values per picture
            float[] gcat = new float[2 * nz];
            double w = c.klWeight();
            for (int i = 0; i < nz; i++) {
                double var = (double) sigma[i] * sigma[i];
                kl += 0.5 * (mean[i] * mean[i] + var - 1 - logvar[i]);
                int img = i / per, off = i % per;
                gcat[img * 2 * per + off] = (float) (gz[i] + w * mean[i] / nz);
                gcat[img * 2 * per + per + off] = (float) (gz[i] * eps[i] * 0.5 * sigma[i] + w * 0.5 * (var - 1) / nz);
            }
            kl /= nz;
            Tensor both = Tensor.cat(1, post.mean(), post.logvar());
            Autograd.backward(both, Tensor.of(gcat, both.shape()));
            opt.step(1.0);
            opt.zeroGrad();
            return mse + w * kl;
        }
    }

    /** 1 / std of latents sampled from the posterior of {@code c.scaleBatches()} fresh batches. */
    static double scalingFactor(Vae vae, Config c, ShapesWorld world, long seed) {
        double sum = 0, sq = 0;
        long n = 0;
        for (int k = 0; k < c.scaleBatches(); k++) {
            SplittableRandom rnd = TrainLoop.stepRandom(seed, 2, k);
            ShapesDataset.Batch batch = Batches.draw(world, rnd.nextLong(), c.batch(), false);
            try (TensorScope scope = TensorScope.open()) {
                Tensor x = Tensor.of(batch.images(), c.batch(), 3, world.size(), world.size());
                Vae.Posterior post = vae.encode(x, false);
                float[] mean = post.mean().toFloatArray(), logvar = post.logvar().toFloatArray();
                for (int i = 0; i < mean.length; i++) {
                    double z = mean[i] + Math.exp(0.5 * logvar[i]) * rnd.nextGaussian();
                    sum += z;
                    sq += z * z;
                    n++;
                }
            }
        }
        double var = sq / n - (sum / n) * (sum / n);
        return 1 / Math.sqrt(var);
    }

    /** Writes the diffusers vae/ folder. */
    public static void write(Result r, Path dir, DType dtype) {
        ModelWriter.writeVae(r.vae(), r.config(), dir, dtype);
    }
}
