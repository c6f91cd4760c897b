package dev.clif.tensor;

import dev.clif.ClifException;
import dev.clif.ffi.clif_h;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads libclif once per JVM and turns native failures into exceptions.
 *
 * <p>Where the library comes from, in order: the system property {@code clif.native} (a path to a
 * libclif.so, e.g. one built against a CUDA libtorch), else the copy packaged in the jar for this
 * platform, extracted once into a cache directory keyed by its SHA-256 (as DJL and bytedeco do).
 * libclif itself links libtorch dynamically; when that is missing the error says what to install.
 */
public final class NativeLibrary {
    private static final Logger log = LoggerFactory.getLogger(NativeLibrary.class);
    private static final String RESOURCE_DIR = "/dev/clif/native/";
    private static final String LIB_NAME = "libclif.so";

    private static volatile Path loadedFrom;
    private static volatile ClifException loadFailure;

    private NativeLibrary() {}

    /** Loads the library if needed; throws a {@link ClifException} with one clear sentence if it cannot. */
    public static void load() {
        if (loadedFrom != null) return;
        synchronized (NativeLibrary.class) {
            if (loadedFrom != null) return;
            if (loadFailure != null) throw loadFailure;
            try {
                Path path = locate();
                try {
                    System.load(path.toString());
                } catch (UnsatisfiedLinkError e) {
                    throw new ClifException(explain(path, e.getMessage()), e);
                }
                // Before loadedFrom is published: no other thread uses the library until its routes are set up.
                KernelRoutes.init();
                loadedFrom = path;
                log.debug("loaded {} (libtorch {})", path, torchVersion());
            } catch (ClifException e) {
                loadFailure = e;
                throw e;
            }
        }
    }

    /** Where the loaded library came from (loads it first). */
    public static Path path() {
        load();
        return loadedFrom;
    }

    public static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String o = os.contains("linux") ? "linux" : os.contains("mac") ? "macos" : os.contains("win") ? "windows" : os;
        String a = switch (arch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch;
        };
        return o + "-" + a;
    }

    public static String clifVersion() {
        load();
        return clif_h.clif_version().getString(0);
    }

    public static String torchVersion() {
        load();
        return clif_h.clif_torch_version().getString(0);
    }

    /** Throws the pending native error when {@code status} is non-zero. Call right after the downcall. */
    public static void check(int status) {
        if (status != 0) throw new ClifNativeException(lastError());
    }

    static String lastError() {
        MemorySegment message = clif_h.clif_last_error();
        String text = message.equals(MemorySegment.NULL) ? "" : message.getString(0);
        return text.isEmpty() ? "native call failed without a message" : text;
    }

    private static Path locate() {
        String override = System.getProperty("clif.native");
        if (override != null && !override.isBlank()) {
            Path p = Path.of(override);
            if (!Files.isRegularFile(p))
                throw new ClifException("-Dclif.native points at " + p + ", which is not a file (expected a libclif.so).");
            return p.toAbsolutePath();
        }
        String resource = RESOURCE_DIR + platform() + "/" + LIB_NAME;
        try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
            if (in == null)
                throw new ClifException("This Clif build has no native library for " + platform()
                        + " (no " + resource + " in the jar): build it with `make` on this platform, or pass "
                        + "-Dclif.native=/path/to/libclif.so.");
            byte[] bytes = in.readAllBytes();
            return extract(bytes);
        } catch (IOException e) {
            throw new ClifException("Could not extract Clif's native library: " + e.getMessage(), e);
        }
    }

    private static Path extract(byte[] bytes) throws IOException {
        String digest = sha256(bytes).substring(0, 16);
        Path dir = cacheDir().resolve(digest);
        Path target = dir.resolve(LIB_NAME);
        if (Files.isRegularFile(target) && Files.size(target) == bytes.length) return target;
        // Written beside the target and renamed, so a concurrent JVM never loads a half-written file.
        dev.clif.AtomicFile.writeBytes(target, bytes);
        return target;
    }

    private static Path cacheDir() {
        String configured = System.getProperty("clif.cache");
        if (configured != null && !configured.isBlank()) return Path.of(configured);
        return cacheRoot().resolve("native");
    }

    /** Clif's per-machine cache: {@code -Dclif.cache}, else {@code $XDG_CACHE_HOME/clif}, else {@code ~/.cache/clif}. */
    static Path cacheRoot() {
        String configured = System.getProperty("clif.cache");
        if (configured != null && !configured.isBlank()) return Path.of(configured);
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("clif");
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final Pattern MISSING = Pattern.compile("(lib[\\w.+-]+\\.so[\\w.]*): cannot open shared object file");

    /** One sentence instead of a stack of UnsatisfiedLinkErrors. */
    static String explain(Path path, String message) {
        String m = message == null ? "" : message;
        Matcher missing = MISSING.matcher(m);
        if (missing.find()) {
            String lib = missing.group(1);
            if (lib.startsWith("libtorch") || lib.startsWith("libc10"))
                return "Clif's native library needs libtorch, but " + lib + " was not found: install libtorch "
                        + "(Debian/Ubuntu: apt-get install libtorch-dev) or rebuild with `make TORCH_DIR=...` "
                        + "against the libtorch you have and pass -Dclif.native=/path/to/libclif.so.";
            return "Clif's native library " + path + " needs " + lib + ", which was not found on this system.";
        }
        if (m.contains("wrong ELF class") || m.contains("invalid ELF header") || m.contains("cannot open shared object file"))
            return "Clif's native library " + path + " cannot be loaded on this platform (" + platform() + "): " + m;
        return "Clif's native library " + path + " could not be loaded: " + m;
    }
}
