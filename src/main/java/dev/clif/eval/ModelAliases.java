package dev.clif.eval;

import dev.clif.io.SingleFileCheckpoint;
import dev.clif.shapes.ShippedModels;

import java.nio.file.Path;

/**
 * Names that stand for the models Clif ships, so every command works on a fresh machine: {@code shapes} is the
 * shapes-world Stable Diffusion folder and {@code shapes-clip} its CLIP, wherever a model or CLIP folder is asked for.
 */
public final class ModelAliases {
    public static final String SHAPES = "shapes";
    public static final String SHAPES_CLIP = "shapes-clip";

    private ModelAliases() {}

    /**
     * The folder {@code nameOrPath} stands for: a shipped model's (extracted on first use), a single-file checkpoint's
     * ({@link SingleFileModels}: {@code FILE.safetensors}; pickled ones are refused), or the path itself.
     */
    public static Path resolve(String nameOrPath) {
        return resolve(nameOrPath, null);
    }

    /** As {@link #resolve(String)}; a single file takes its configs from {@code configDir} when that is not null. */
    public static Path resolve(String nameOrPath, Path configDir) {
        return switch (nameOrPath) {
            case SHAPES -> ShippedModels.folder().resolve("sd");
            case SHAPES_CLIP -> ShippedModels.folder().resolve("clip");
            default -> {
                Path p = Path.of(nameOrPath);
                if (SingleFileCheckpoint.looksLikeSingleFile(p)) yield SingleFileModels.folder(p, configDir);
                if (configDir != null)
                    throw new dev.clif.ClifException("--config " + configDir + " is for a single-file model, but " + nameOrPath + " is a folder");
                yield p;
            }
        };
    }

    public static boolean isAlias(String s) {
        return SHAPES.equals(s) || SHAPES_CLIP.equals(s);
    }
}
