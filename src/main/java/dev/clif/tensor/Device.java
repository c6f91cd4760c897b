package dev.clif.tensor;

import dev.clif.ffi.clif_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Locale;

/** Where tensors live: the CPU or CUDA device n. {@link #index} is the int clif.h uses (-1 for the CPU). */
public record Device(int index) {
    public static final Device CPU = new Device(-1);

    public Device {
        if (index < -1) throw new IllegalArgumentException("device index " + index + " (use -1 for the CPU)");
    }

    public static Device cuda(int n) {
        if (n < 0) throw new IllegalArgumentException("CUDA device index must be >= 0, got " + n);
        return new Device(n);
    }

    public boolean isCpu() {
        return index < 0;
    }

    public boolean isCuda() {
        return index >= 0;
    }

    /** CUDA device 0 when libtorch can use one, else the CPU. */
    public static Device best() {
        return cudaCount() > 0 ? cuda(0) : CPU;
    }

    public static int cudaCount() {
        NativeLibrary.load();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            NativeLibrary.check(clif_h.clif_device_cuda_count(out));
            return out.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** Parses "cpu", "cuda", "cuda:1", "auto"/"best". */
    public static Device parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.equals("cpu")) return CPU;
        if (t.equals("auto") || t.equals("best")) return best();
        if (t.equals("cuda") || t.equals("gpu")) return cuda(0);
        if (t.startsWith("cuda:")) {
            try {
                return cuda(Integer.parseInt(t.substring(5)));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad device '" + text + "' (use cpu, cuda or cuda:N)");
            }
        }
        throw new IllegalArgumentException("bad device '" + text + "' (use cpu, cuda or cuda:N)");
    }

    /** Fails with the native message when this device does not exist. */
    public Device check() {
        NativeLibrary.load();
        NativeLibrary.check(clif_h.clif_device_check(index));
        return this;
    }

    /** Caching-allocator figures in bytes (zeros on the CPU). */
    public record Memory(long allocated, long reserved, long peakAllocated) {}

    public Memory memory() {
        NativeLibrary.load();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment r = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment p = arena.allocate(ValueLayout.JAVA_LONG);
            NativeLibrary.check(clif_h.clif_device_memory(index, a, r, p));
            return new Memory(a.get(ValueLayout.JAVA_LONG, 0), r.get(ValueLayout.JAVA_LONG, 0), p.get(ValueLayout.JAVA_LONG, 0));
        }
    }

    public void resetPeakMemory() {
        NativeLibrary.load();
        NativeLibrary.check(clif_h.clif_device_reset_peak(index));
    }

    public void synchronize() {
        NativeLibrary.load();
        NativeLibrary.check(clif_h.clif_device_synchronize(index));
    }

    /** Threads of libtorch's intra-op pool (process-wide). */
    public static void setThreads(int threads) {
        NativeLibrary.load();
        NativeLibrary.check(clif_h.clif_device_set_num_threads(threads));
        KernelRoutes.threadsChanged(threads); // kernel routes are measured per thread count
    }

    public static int threads() {
        NativeLibrary.load();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            NativeLibrary.check(clif_h.clif_device_get_num_threads(out));
            return out.get(ValueLayout.JAVA_INT, 0);
        }
    }

    @Override
    public String toString() {
        return isCpu() ? "cpu" : "cuda:" + index;
    }
}
