package dev.clif.purge;

import java.nio.file.Path;
import java.util.List;

/** What a purge wrote and measured. */
public record PurgeResult(Path modelDir, Path delta, Path report, Path lossCurve, List<PurgeListener.StepEvent> history,
                          List<String> trainableParameters, String baseFingerprint, double wallSeconds) {
    /** Mean loss of steps [from, to) (0-based indices into the history). */
    public double meanLoss(int from, int to) {
        double s = 0;
        for (int i = from; i < to; i++) s += history.get(i).loss();
        return s / (to - from);
    }
}
