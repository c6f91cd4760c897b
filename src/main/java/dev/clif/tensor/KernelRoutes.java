package dev.clif.tensor;

import dev.clif.AtomicFile;
import dev.clif.ClifException;
import dev.clif.ffi.clif_h;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which kernel runs each op where the native library has two that compute the same thing (dense layers: oneDNN or
 * the BLAS; attention: the fused kernel or matmul-softmax-matmul; 1x1 convolutions: oneDNN or the BLAS; other
 * convolutions: oneDNN or im2col + BLAS). The
 * native side times both on the first call of each problem shape and keeps the faster; this class keeps those
 * decisions per machine, so that the timing runs once: a file per CPU model, thread count and libtorch version
 * under Clif's cache ({@code <cache>/routes/<cpu>-t<threads>-torch<version>-clif<version>.tsv}), loaded with the library (and
 * when {@link Device#setThreads} picks another thread count) and written by a shutdown hook or {@link #save()}.
 *
 * <p>{@code -Dclif.routes=dense=blas,attention=matmul} (or the environment variable {@code CLIF_ROUTES}) forces
 * routes instead: dense {@code onednn|blas|calibrate}, attention {@code fused|matmul|calibrate}, conv and conv1x1
 * {@code onednn|blas|calibrate}; {@code calibrate}, the default, measures. A forced route is not timed.
 */
public final class KernelRoutes {
    private static final Logger log = LoggerFactory.getLogger(KernelRoutes.class);
    public static final String PROPERTY = "clif.routes";
    public static final String ENV = "CLIF_ROUTES";
    // "... t=N", or "... t=N backward" for a call timed with its backward
    private static final Pattern THREADS = Pattern.compile(" t=(\\d+)( backward)?$");

    private static final Object LOCK = new Object();
    // Everything below is guarded by LOCK. Nothing under LOCK calls NativeLibrary.load(): load() calls init()
    // while holding its own lock, and the two locks must never be taken in the other order.
    private static Path dir;
    private static final Set<Integer> loadedThreads = new HashSet<>();
    // Per thread count: that part of the table as it was last read from or written to its file.
    private static final Map<Integer, String> onDisk = new HashMap<>();

    private KernelRoutes() {}

    /** One decision of the table: the problem key, the route kept, and every candidate's median time. */
    public record Decision(String key, String winner, Map<String, Double> millis) {
        /** The op: dense, attention, conv or conv1x1. */
        public String op() {
            return key.substring(0, key.indexOf(' '));
        }

        public int threads() {
            Matcher m = THREADS.matcher(key);
            if (!m.find()) throw new IllegalStateException("route key without t=: " + key);
            return Integer.parseInt(m.group(1));
        }
    }

    /** Called by {@link NativeLibrary#load()} right after the library is loaded (under its lock). */
    static void init() {
        String spec = System.getProperty(PROPERTY);
        String source = "-D" + PROPERTY;
        if (spec == null) {
            spec = System.getenv(ENV);
            source = ENV;
        }
        synchronized (LOCK) {
            if (spec != null) {
                try {
                    applyOverride(spec);
                } catch (ClifException e) {
                    throw new ClifException(source + "=" + spec + ": " + e.getMessage(), e);
                }
            }
            dir = NativeLibrary.cacheRoot().resolve("routes");
            loadForThreads(currentThreads());
        }
        Runtime.getRuntime().addShutdownHook(new Thread(KernelRoutes::saveQuietly, "clif-routes-save"));
    }

    /** Forces routes ("op=route,..."; ops not named calibrate; "" calibrates all). A bad token is named. */
    public static void setOverride(String spec) {
        NativeLibrary.load();
        synchronized (LOCK) {
            applyOverride(spec);
        }
    }

    /** The table as text (the cache files' format): {@code <key>\t<winner>\t<route>=<ms>...}, one a line. */
    public static String dump() {
        NativeLibrary.load();
        synchronized (LOCK) {
            return dumpText();
        }
    }

    /** Adds decisions in {@link #dump()}'s format; a bad line fails naming its number and adds nothing. */
    public static int load(String text) {
        NativeLibrary.load();
        synchronized (LOCK) {
            return loadText(text);
        }
    }

    /** Forgets every decision: the next call of each shape is timed again. */
    public static void clear() {
        NativeLibrary.load();
        synchronized (LOCK) {
            NativeLibrary.check(clif_h.clif_routes_clear());
        }
    }

    public static List<Decision> decisions() {
        return parse(dump());
    }

    /** The cache file for this machine at {@code threads} threads. */
    public static Path file(int threads) {
        NativeLibrary.load();
        synchronized (LOCK) {
            return fileFor(threads);
        }
    }

    /** Writes the decisions of every thread count whose part of the table changed since it was read or written. */
    public static void save() {
        NativeLibrary.load();
        synchronized (LOCK) {
            saveChanged();
        }
    }

    /** Loads the decisions measured at {@code threads} threads, once per thread count. */
    static void threadsChanged(int threads) {
        synchronized (LOCK) {
            loadForThreads(threads);
        }
    }

    /**
     * Loads a cache file into the table; returns null when it was loaded or absent, else the warning (naming the
     * file and the line) that was logged, in which case nothing of it was loaded and its routes are measured again.
     */
    static String loadFile(Path file) {
        NativeLibrary.load();
        synchronized (LOCK) {
            return loadFileLocked(file);
        }
    }

    // ---- under LOCK ---------------------------------------------------------------------------------------

    private static void applyOverride(String spec) {
        byte[] utf8 = spec.getBytes(StandardCharsets.UTF_8);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment text = arena.allocateFrom(ValueLayout.JAVA_BYTE, utf8);
            checkWithoutPrefix(clif_h.clif_routes_set_override(text, utf8.length));
        }
    }

    private static String dumpText() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment len = arena.allocate(ValueLayout.JAVA_LONG);
            NativeLibrary.check(clif_h.clif_routes_dump(MemorySegment.NULL, 0, len));
            while (true) {
                long capacity = len.get(ValueLayout.JAVA_LONG, 0) + 4096; // room for decisions made meanwhile
                MemorySegment buf = arena.allocate(capacity);
                NativeLibrary.check(clif_h.clif_routes_dump(buf, capacity, len));
                long n = len.get(ValueLayout.JAVA_LONG, 0);
                if (n <= capacity)
                    return new String(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
            }
        }
    }

    private static int loadText(String text) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment t = arena.allocateFrom(ValueLayout.JAVA_BYTE, utf8);
            MemorySegment count = arena.allocate(ValueLayout.JAVA_LONG);
            checkWithoutPrefix(clif_h.clif_routes_load(t, utf8.length, count));
            return Math.toIntExact(count.get(ValueLayout.JAVA_LONG, 0));
        }
    }

    /** As NativeLibrary.check, without the "clif_routes_xxx: " prefix (the messages are for a file or a flag). */
    private static void checkWithoutPrefix(int status) {
        if (status == 0) return;
        String message = NativeLibrary.lastError();
        throw new ClifException(message.replaceFirst("^clif_routes_\\w+: ", ""));
    }

    private static int currentThreads() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            NativeLibrary.check(clif_h.clif_device_get_num_threads(out));
            return out.get(ValueLayout.JAVA_INT, 0);
        }
    }

    private static void loadForThreads(int threads) {
        if (dir == null || !loadedThreads.add(threads)) return;
        if (loadFileLocked(fileFor(threads)) == null) onDisk.put(threads, part(dumpText(), threads));
    }

    private static String loadFileLocked(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException | RuntimeException e) {
            return warn(file + ": cannot read the kernel-route cache (" + e.getMessage() + "); routes will be measured again");
        }
        try {
            int n = loadText(text);
            log.debug("loaded {} kernel routes from {}", n, file);
            return null;
        } catch (ClifException e) {
            return warn(file + ": " + e.getMessage() + "; ignoring this kernel-route cache, routes will be measured again");
        }
    }

    private static String warn(String message) {
        log.warn(message);
        return message;
    }

    private static Path fileFor(int threads) {
        if (dir == null) throw new IllegalStateException("KernelRoutes used before the native library was loaded");
        // Clif's version in the name: another release may route (or compute) a key's kernels differently.
        return dir.resolve(machineName() + "-t" + threads + "-torch" + sanitise(clif_h.clif_torch_version().getString(0))
                + "-clif" + sanitise(clif_h.clif_version().getString(0)) + ".tsv");
    }

    private static void saveChanged() {
        if (dir == null) return;
        String all = dumpText();
        Set<Integer> threadCounts = new HashSet<>(onDisk.keySet());
        for (Decision d : parse(all)) threadCounts.add(d.threads());
        for (int threads : threadCounts) {
            String part = part(all, threads);
            if (part.isEmpty() || part.equals(onDisk.get(threads))) continue;
            Path file = fileFor(threads);
            String header = "# Clif kernel routes measured on " + cpuModel() + " at " + threads + " thread(s), libtorch "
                    + clif_h.clif_torch_version().getString(0) + ": <op shape dtype threads>\t<route kept>\t<route>=<median ms>...\n";
            AtomicFile.writeBytes(file, (header + part).getBytes(StandardCharsets.UTF_8));
            onDisk.put(threads, part);
            log.debug("saved kernel routes to {}", file);
        }
    }

    private static void saveQuietly() {
        try {
            synchronized (LOCK) {
                saveChanged();
            }
        } catch (RuntimeException | Error e) {
            log.warn("could not save the kernel-route cache: {}", e.getMessage());
        }
    }

    // ---- text ---------------------------------------------------------------------------------------------

    /** The lines of a dump whose key has t=threads, in order. */
    private static String part(String dump, int threads) {
        StringBuilder out = new StringBuilder();
        for (String line : dump.split("\n")) {
            if (line.isBlank()) continue;
            int tab = line.indexOf('\t');
            Matcher m = THREADS.matcher(tab < 0 ? line : line.substring(0, tab));
            if (m.find() && Integer.parseInt(m.group(1)) == threads) out.append(line).append('\n');
        }
        return out.toString();
    }

    static List<Decision> parse(String dump) {
        List<Decision> out = new ArrayList<>();
        for (String line : dump.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) continue;
            String[] fields = line.split("\t");
            Map<String, Double> millis = new LinkedHashMap<>();
            for (int i = 2; i < fields.length; i++) {
                int eq = fields[i].indexOf('=');
                millis.put(fields[i].substring(0, eq), Double.parseDouble(fields[i].substring(eq + 1)));
            }
            out.add(new Decision(fields[0], fields[1], millis));
        }
        return out;
    }

    private static String machineName() {
        return sanitise(cpuModel());
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    int colon = line.indexOf(':');
                    if (colon >= 0 && !line.substring(colon + 1).isBlank()) return line.substring(colon + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or no model name: the architecture is the best name there is
        }
        return "unknown-" + System.getProperty("os.arch", "cpu");
    }

    static String sanitise(String name) {
        String s = name.replaceAll("[^A-Za-z0-9._-]+", "_").replaceAll("^_+|_+$", "");
        if (s.length() > 80) s = s.substring(0, 80);
        return s.isEmpty() ? "unknown" : s;
    }
}
