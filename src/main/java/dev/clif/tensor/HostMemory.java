package dev.clif.tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Memory of this process on the host, for reports of CPU runs (CUDA runs report the caching allocator's
 * figures instead, {@link Device#memory()}). Linux only; elsewhere the figures are -1.
 */
public final class HostMemory {
    private static final Path STATUS = Path.of("/proc/self/status");

    private HostMemory() {}

    /** Peak resident set size of the process so far (VmHWM), in bytes; Java heap and native memory together. */
    public static long peakResidentBytes() {
        return field("VmHWM:");
    }

    /** Current resident set size (VmRSS), in bytes. */
    public static long residentBytes() {
        return field("VmRSS:");
    }

    private static long field(String name) {
        try {
            for (String line : Files.readAllLines(STATUS))
                if (line.startsWith(name)) return Long.parseLong(line.replaceAll("\\D+", "")) * 1024;
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
