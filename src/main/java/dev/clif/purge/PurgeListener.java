package dev.clif.purge;

import java.nio.file.Path;
import java.util.List;

/** Hears about a purge as it runs (progress bars, logging, experiment tracking). Called on the purging thread. */
public interface PurgeListener {
    /**
     * What one optimiser step did. {@code step} counts from 1; {@code loss} = {@code objectiveLoss} (CLIF or ESD) +
     * {@code preserveLoss} (the preservation terms as weighted in the loss; 0 without them).
     */
    record StepEvent(int step, int total, String concept, int timestep, double loss, double objectiveLoss, double preserveLoss,
                     double gradNorm, double stepSeconds, long peakDeviceMemory, double etaSeconds) {}

    /** Before the first step; {@code firstStep} is 0 for a fresh purge and the checkpoint's step when resuming. */
    default void onStart(int firstStep, int total, List<String> trainableParameters) {}

    void onStep(StepEvent event);

    default void onCheckpoint(int step, Path file) {}

    PurgeListener NONE = e -> {};
}
