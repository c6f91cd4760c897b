package dev.clif.shapes;

import dev.clif.ClifException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The shapes-world models shipped inside Clif's jar (resources under dev/clif/shapes/models/, listed in its
 * FILES index: `sha256sum` lines, "HASH  PATH"), copied once to a cache folder keyed by that index, so the
 * folder-based loaders can read them and a retrained model never meets a stale copy.
 */
public final class ShippedModels {
    private static final String ROOT = "/dev/clif/shapes/models/";

    private ShippedModels() {}

    private static String sha256(String s) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Whether this build carries the models. */
    public static boolean present() {
        return ShippedModels.class.getResource(ROOT + "FILES") != null;
    }

    /** The folder holding sd/ and clip/ (extracted on first use). */
    public static Path folder() {
        List<String> files;
        String indexText;
        try (InputStream index = ShippedModels.class.getResourceAsStream(ROOT + "FILES")) {
            if (index == null)
                throw new ClifException("this Clif build ships no shapes-world models: train them with `clif shapes train --out DIR` "
                        + "and pass --models DIR");
            String text = new String(index.readAllBytes(), StandardCharsets.UTF_8);
            files = text.lines().filter(l -> !l.isBlank()).map(l -> l.substring(l.indexOf("  ") + 2)).toList();
            indexText = text;
        } catch (IOException e) {
            throw new ClifException("cannot read the shipped shapes models: " + e.getMessage(), e);
        }
        String key = sha256(indexText).substring(0, 16);
        Path dir = Path.of(System.getProperty("user.home"), ".cache", "clif", "shapes-models", key);
        for (String f : files) {
            Path target = dir.resolve(f);
            if (Files.exists(target)) continue;
            try (InputStream in = ShippedModels.class.getResourceAsStream(ROOT + f)) {
                if (in == null) throw new ClifException("the shipped shapes models lack " + f);
                byte[] bytes = in.readAllBytes();
                dev.clif.AtomicFile.writeBytes(target, bytes);
            } catch (IOException e) {
                throw new ClifException("cannot extract the shipped shapes model file " + f + ": " + e.getMessage(), e);
            }
        }
        return dir;
    }
}
