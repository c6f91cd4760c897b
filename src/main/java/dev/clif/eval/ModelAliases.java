package dev.clif.eval;

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

    /** The folder {@code nameOrPath} stands for: a shipped model's (extracted on first use) or the path itself. */
    public static Path resolve(String nameOrPath) {
        return switch (nameOrPath) {
            case SHAPES -> ShippedModels.folder().resolve("sd");
            case SHAPES_CLIP -> ShippedModels.folder().resolve("clip");
            default -> Path.of(nameOrPath);
        };
    }

    public static boolean isAlias(String s) {
        return SHAPES.equals(s) || SHAPES_CLIP.equals(s);
    }
}
