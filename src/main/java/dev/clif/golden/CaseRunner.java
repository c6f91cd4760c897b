package dev.clif.golden;

import dev.clif.tensor.Device;

import java.util.List;

/**
 * Runs one kind of golden case (chosen by the sidecar's {@code case} field) with Clif's own code and
 * compares every output it can with the stored one. Implementations live beside the code they check
 * and are listed in {@link GoldenRunner}.
 */
public interface CaseRunner {
    /** The sidecar {@code case} names this runner handles. */
    List<String> cases();

    /** Loads the case's model(s) from {@link GoldenCase#model()} (etc.), runs, and compares. */
    List<Comparison> run(GoldenCase c, Device device);
}
