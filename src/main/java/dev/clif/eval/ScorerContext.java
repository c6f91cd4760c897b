package dev.clif.eval;

import dev.clif.tensor.Device;

import java.nio.file.Path;

/**
 * What a scorer spec may need besides its own argument: the CLIP folder of {@code --clip} (null when not given;
 * already resolved through {@link ModelAliases}) and the device to run models on.
 */
public record ScorerContext(Path clipDir, Device device) {}
