package dev.clif.shapes.train;

import java.util.Arrays;
import java.util.SplittableRandom;

/** What the three trainers share: listeners, statistics, learning-rate schedule, per-step random streams. */
public final class TrainLoop {
    private TrainLoop() {}

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
