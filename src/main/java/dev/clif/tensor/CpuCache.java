package dev.clif.tensor;

import dev.clif.ffi.clif_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The caching allocator that keeps libtorch's large CPU buffers (1 MiB and up) for reuse instead of handing them
 * back to the system when a tensor is freed (native/src/cpu_allocator.cpp). Without it every UNet forward faults
 * gigabytes of fresh pages in again: on a 2-core AMD EPYC the SD-1.5-sized forward took 3.2-3.5 s with it off
 * and 2.4 s with it on. It holds at most {@link Stats#limitBytes()} free: by default a quarter of physical memory,
 * at most 8 GiB, or {@code CLIF_CPU_CACHE_MB} when the library loads ({@code 0} turns it off for the process).
 * A long-lived process that has finished a large job can give the memory back with {@link #release()}.
 */
public final class CpuCache {
    private CpuCache() {}

    /** Bytes held free for reuse, bytes in live cached-size blocks, and the most that may be held free. */
    public record Stats(long cachedBytes, long inUseBytes, long limitBytes) {}

    public static Stats stats() {
        NativeLibrary.load();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cached = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment inUse = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment limit = arena.allocate(ValueLayout.JAVA_LONG);
            NativeLibrary.check(clif_h.clif_device_cpu_cache(cached, inUse, limit));
            return new Stats(cached.get(ValueLayout.JAVA_LONG, 0), inUse.get(ValueLayout.JAVA_LONG, 0), limit.get(ValueLayout.JAVA_LONG, 0));
        }
    }

    /** The most the cache may hold free; blocks beyond it are freed now. 0 stops caching (blocks freed later go back). */
    public static void setLimit(long bytes) {
        NativeLibrary.load();
        NativeLibrary.check(clif_h.clif_device_cpu_cache_set_limit(bytes));
    }

    /** Gives every cached free block back to the system. */
    public static void release() {
        NativeLibrary.load();
        NativeLibrary.check(clif_h.clif_device_cpu_cache_release());
    }
}
