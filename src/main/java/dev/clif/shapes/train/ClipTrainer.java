package dev.clif.shapes.train;

import dev.clif.model.AdamW;
import dev.clif.model.Autograd;
import dev.clif.model.ClipConfig;
import dev.clif.model.ClipModel;
import dev.clif.shapes.ShapesDataset;
import dev.clif.shapes.ShapesWorld;
import dev.clif.tensor.DType;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;
import dev.clif.text.ClipTokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains a tiny {@code CLIPModel} contrastively on shapes-world picture–caption pairs: each batch holds distinct
 * captions; the symmetric InfoNCE loss and its gradient with respect to both towers' (unnormalised) features
 * and the logit scale are computed in Java ({@link InfoNce}); two native backwards (one per tower) take the
 * feature gradients, and the native AdamW updates the towers. The learnable {@code logit_scale} (one scalar)
 * gets its own Adam update in Java with the same hyper-parameters, clamped to [0, ln 100] as in CLIP, and its
 * moments are saved in the checkpoint metadata.
 *
 * <p>Pictures enter as {@link dev.clif.shapes.Image#toCHW()} values in [-1, 1], i.e. CLIP preprocessing at
 * 32x32 with mean 0.5 and std 0.5 (what preprocessor_config.json says).
 */
public final class ClipTrainer {
    private static final Logger log = LoggerFactory.getLogger(ClipTrainer.class);
    static final String STAGE = "clip";
    static final String LOGIT_SCALE = "logit_scale";

    public record Config(ClipConfig model, int steps, int batch, double lr, int warmup, int checkpointEvery) {
        public static Config standard() {
            return new Config(ShapesModels.clip(), 500, 32, 1e-3, 50, 100);
        }
    }

    public record Result(ClipModel clip, ClipConfig config, TrainLoop.Stats stats, double lastAccuracy) {}

    private ClipTrainer() {}

    public static Result train(Config c, ShapesWorld world, ClipTokenizer tokenizer, long seed, Path checkpoint,
                               boolean resume, long deadline, TrainLoop.Listener listener) {
        ClipModel clip = ClipModel.create(c.model());
        try {
            Init.initialise(clip, seed, ShapesModels.usedTokens(tokenizer));
            long params = clip.parameterCount();
            List<String> trainable = new ArrayList<>(clip.parameterNames());
            trainable.remove(LOGIT_SCALE);
            double[] logit = {Math.log(1 / 0.07), 0, 0, 0}; // value, Adam m, v, t
            List<Double> acc = new ArrayList<>();
            Map<String, long[]> ids = new HashMap<>();
            TrainLoop.Extra logitState = new TrainLoop.Extra() {
                @Override
                public Map<String, String> save() {
                    return logitMeta(logit);
                }

                @Override
                public void restore(Map<String, String> meta) {
                    for (int i = 0; i < 4; i++) logit[i] = Double.parseDouble(meta.get("logit_scale_state_" + i));
                }
            };
            try (AdamW opt = new AdamW(clip, trainable, AdamW.Config.of(c.lr()))) {
                TrainLoop.Stats stats = TrainLoop.run(new TrainLoop.Plan(STAGE, c.steps(), c.lr(), c.warmup(), c.checkpointEvery(),
                        checkpoint, resume, seed, deadline), clip, opt, params, listener, logitState, (step, lr) -> {
                            InfoNce.Result r = step(clip, opt, c, world, tokenizer, ids, seed, step, logit[0]);
                            adamScalar(logit, r.gradLogitScale(), lr);
                            try (Tensor s = Tensor.of(new float[] {(float) logit[0]})) {
                                setLogitScale(clip, s);
                            }
                            acc.add(r.accuracy());
                            return r.loss();
                        });
                double lastAcc = acc.subList(Math.max(0, acc.size() - 20), acc.size()).stream().mapToDouble(Double::doubleValue)
                        .average().orElse(Double.NaN);
                log.info("clip: {} steps in {} s, loss {} -> {}, in-batch accuracy {}, logit scale {}", stats.losses().length,
                        String.format("%.1f", stats.seconds()), String.format("%.4f", stats.firstMean(20)),
                        String.format("%.4f", stats.lastMean(20)), String.format("%.3f", lastAcc), String.format("%.3f", logit[0]));
                return new Result(clip, c.model(), stats, lastAcc);
            }
        } catch (RuntimeException e) {
            clip.close();
            throw e;
        }
    }

    private static void setLogitScale(ClipModel clip, Tensor value) {
        long[] shape;
        try (Tensor p = clip.parameter(LOGIT_SCALE)) {
            shape = p.shape();
        }
        try (Tensor v = value.reshape(shape)) {
            clip.setParameter(LOGIT_SCALE, v);
        }
    }

    private static Map<String, String> logitMeta(double[] logit) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < 4; i++) m.put("logit_scale_state_" + i, Double.toString(logit[i]));
        return m;
    }

    /** One Adam step (no weight decay) of the scalar logit scale; state = {value, m, v, t}. */
    static void adamScalar(double[] s, double grad, double lr) {
        double b1 = 0.9, b2 = 0.999;
        s[3] += 1;
        s[1] = b1 * s[1] + (1 - b1) * grad;
        s[2] = b2 * s[2] + (1 - b2) * grad * grad;
        double mh = s[1] / (1 - Math.pow(b1, s[3])), vh = s[2] / (1 - Math.pow(b2, s[3]));
        s[0] = Math.max(0, Math.min(Math.log(100), s[0] - lr * mh / (Math.sqrt(vh) + 1e-8)));
    }

    static Tensor ids(ClipTokenizer tokenizer, Map<String, long[]> cache, String[] captions) {
        int len = tokenizer.maxLength();
        long[] flat = new long[captions.length * len];
        for (int i = 0; i < captions.length; i++) {
            long[] row = cache.computeIfAbsent(captions[i], tokenizer::encodePadded);
            System.arraycopy(row, 0, flat, i * len, len);
        }
        return Tensor.of(flat, captions.length, len);
    }

    private static InfoNce.Result step(ClipModel clip, AdamW opt, Config c, ShapesWorld world, ClipTokenizer tokenizer,
                                       Map<String, long[]> cache, long seed, int step, double logitScale) {
        SplittableRandom rnd = TrainLoop.stepRandom(seed, 3, step);
        int b = c.batch(), side = world.size(), dim = c.model().projectionDim();
        ShapesDataset.Batch batch = Batches.draw(world, rnd.nextLong(), b, true);
        try (TensorScope scope = TensorScope.open()) {
            Tensor pixels = Tensor.of(batch.images(), b, 3, side, side);
            Tensor fi = clip.imageFeatures(pixels, true);
            Tensor ft = clip.textFeatures(ids(tokenizer, cache, batch.captions()), null, true);
            InfoNce.Result r = InfoNce.compute(fi.toFloatArray(), ft.toFloatArray(), b, dim, logitScale);
            Autograd.backward(fi, Tensor.of(r.gradImage(), b, dim));
            Autograd.backward(ft, Tensor.of(r.gradText(), b, dim));
            opt.step(1.0);
            opt.zeroGrad();
            return r;
        }
    }

    /** Writes the CLIPModel folder (config, weights, preprocessor config, tokenizer files). */
    public static void write(Result r, Path dir, Path tokenizerDir, DType dtype) {
        ModelWriter.writeClip(r.clip(), r.config(), dir, dtype);
        ModelWriter.copyTokenizer(tokenizerDir, dir);
    }
}
