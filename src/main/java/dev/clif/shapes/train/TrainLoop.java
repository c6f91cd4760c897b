package dev.clif.shapes.train;

import dev.clif.model.AdamW;
import dev.clif.model.NativeModule;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What the three trainers share: listeners, statistics, learning-rate schedule, per-step random streams. */
public final class TrainLoop {
    private static final Logger log = LoggerFactory.getLogger(TrainLoop.class);

    private TrainLoop() {}

    /** One optimisation step of a stage (the scheduled rate is already set on the optimiser); returns its loss. */
    interface Step {
        double run(int step, double lr);
    }

    /** State a stage keeps beside its weights and AdamW (CLIP's logit scale): carried in the checkpoint's metadata. */
    interface Extra {
        Map<String, String> save();

        void restore(Map<String, String> meta);

        Extra NONE = new Extra() {
            @Override
            public Map<String, String> save() {
                return null;
            }

            @Override
            public void restore(Map<String, String> meta) {}
        };
    }

    /** How long to run a stage and where its checkpoint lives. */
    record Plan(String stage, int steps, double lr, int warmup, int checkpointEvery, Path checkpoint, boolean resume, long seed,
                long deadline) {}

    /**
     * The loop every trainer shares: resume from the checkpoint (when asked and present), then for each step
     * set the scheduled rate, run {@code body}, report to the listener and checkpoint every
     * {@code checkpointEvery} steps; stop early once the deadline passes; checkpoint at the end.
     */
    static Stats run(Plan p, NativeModule model, AdamW opt, long parameters, Listener listener, Extra extra, Step body) {
        long t0 = System.nanoTime();
        int first = 0;
        if (p.resume() && p.checkpoint() != null) {
            Map<String, String> meta = Checkpoint.restore(p.checkpoint(), model, opt, p.seed(), p.stage());
            if (meta != null) {
                first = Integer.parseInt(meta.get("step"));
                extra.restore(meta);
                if (first > 0) log.info("{}: resuming at step {} of {}", p.stage(), first, p.steps());
            }
        }
        double[] losses = new double[Math.max(0, p.steps() - first)];
        boolean cut = false;
        int step = first;
        for (; step < p.steps(); step++) {
            if (System.nanoTime() > p.deadline()) {
                cut = true;
                break;
            }
            double lr = learningRate(p.lr(), step, p.warmup(), p.steps());
            opt.setLearningRate(lr);
            losses[step - first] = body.run(step, lr);
            listener.onStep(p.stage(), step + 1, p.steps(), losses[step - first]);
            if (p.checkpoint() != null && (step + 1) % p.checkpointEvery() == 0 && step + 1 < p.steps())
                Checkpoint.save(p.checkpoint(), model, opt, step + 1, p.seed(), p.stage(), extra.save());
        }
        if (p.checkpoint() != null) Checkpoint.save(p.checkpoint(), model, opt, step, p.seed(), p.stage(), extra.save());
        if (cut) log.warn("{}: time budget reached at step {} of {}", p.stage(), step, p.steps());
        return new Stats(p.stage(), first, step, p.steps(), (System.nanoTime() - t0) / 1e9, Arrays.copyOf(losses, step - first), cut,
                parameters);
    }

    /** Told after every optimisation step (progress bars, logs). */
    public interface Listener {
        void onStep(String stage, int step, int total, double loss);

        Listener NONE = (stage, step, total, loss) -> {};
    }

    /**
     * What a training stage did: steps run (of those planned), seconds, the loss of every step run in this
     * process (a resumed run starts at {@code firstStep}), and whether the time budget cut it short.
     */
    public record Stats(String stage, int firstStep, int steps, int plannedSteps, double seconds, double[] losses,
                        boolean stoppedByBudget, long parameters) {
        /** Mean loss of the first {@code k} recorded steps. */
        public double firstMean(int k) {
            return Arrays.stream(losses, 0, Math.min(k, losses.length)).average().orElse(Double.NaN);
        }

        /** Mean loss of the last {@code k} recorded steps. */
        public double lastMean(int k) {
            return Arrays.stream(losses, Math.max(0, losses.length - k), losses.length).average().orElse(Double.NaN);
        }
    }

    /** Linear warm-up over {@code warmup} steps, then cosine decay to 10% of {@code lr} at {@code total}. */
    static double learningRate(double lr, int step, int warmup, int total) {
        if (step < warmup) return lr * (step + 1) / warmup;
        double p = Math.min(1, (double) (step - warmup) / Math.max(1, total - warmup));
        return lr * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * p)));
    }

    /** The random stream of one step of one stage: a function of (seed, stage salt, step) only. */
    static SplittableRandom stepRandom(long seed, int salt, long step) {
        return new SplittableRandom(new SplittableRandom(seed * 0x9E3779B97F4A7C15L + salt).split().nextLong() + step * 0xBF58476D1CE4E5B9L);
    }

    static float[] gaussian(SplittableRandom rnd, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) rnd.nextGaussian();
        return out;
    }

    static long[] shape(long... dims) {
        return dims;
    }
}
