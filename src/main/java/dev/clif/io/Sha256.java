package dev.clif.io;

import dev.clif.ClifException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/** SHA-256 digests as lower-case hex: what manifests record so a number can be tied to the exact files behind it. */
public final class Sha256 {
    private Sha256() {}

    public static String of(byte[] bytes) {
        return HexFormat.of().formatHex(digest().digest(bytes));
    }

    public static String of(Path file) {
        return of(List.of(file));
    }

    /**
     * One digest over the files' bytes in the given order. Remembered per process by path, size and modification time:
     * a run fingerprints the same multi-gigabyte weights several times (the manifest, each in-memory delta's base check).
     */
    public static String of(List<Path> files) {
        List<String> key = new java.util.ArrayList<>();
        for (Path f : files)
            try {
                Path abs = f.toAbsolutePath().normalize();
                key.add(abs + "\0" + Files.size(abs) + "\0" + Files.getLastModifiedTime(abs).toInstant());
            } catch (IOException e) {
                throw new ClifException(f + ": cannot read: " + e.getMessage(), e);
            }
        return CACHE.computeIfAbsent(key, k -> digestOf(files));
    }

    private static final java.util.Map<List<String>, String> CACHE = new java.util.concurrent.ConcurrentHashMap<>();

    private static String digestOf(List<Path> files) {
        MessageDigest md = digest();
        byte[] buf = new byte[1 << 20];
        for (Path f : files)
            try (InputStream in = Files.newInputStream(f)) {
                for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
            } catch (IOException e) {
                throw new ClifException(f + ": cannot read: " + e.getMessage(), e);
            }
        return HexFormat.of().formatHex(md.digest());
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
