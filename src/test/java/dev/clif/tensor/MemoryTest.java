package dev.clif.tensor;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** Native memory ownership: scopes, explicit close, the Cleaner net, and a flat footprint under churn. */
class MemoryTest {
    private static final MethodHandle MALLINFO2 = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().findOrThrow("mallinfo2"),
            FunctionDescriptor.of(MemoryLayout.structLayout(MemoryLayout.sequenceLayout(10, ValueLayout.JAVA_LONG))));

    /**
     * Bytes of native heap in use right now (glibc's mallinfo2: uordblks, the bytes in allocated chunks,
     * plus hblkhd, the bytes in mmapped blocks). Unlike the resident set size this excludes the Java heap,
     * so it measures exactly what a native leak would grow.
     */
    static long nativeHeapInUse() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = (MemorySegment) MALLINFO2.invokeExact((SegmentAllocator) arena);
            return info.getAtIndex(ValueLayout.JAVA_LONG, 7) + info.getAtIndex(ValueLayout.JAVA_LONG, 4);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    static void churn(int cycles) {
        float[] data = new float[256];
        for (int i = 0; i < cycles; i++) {
            try (TensorScope scope = TensorScope.open()) {
                Tensor a = Tensor.of(data, 16, 16);
                Tensor b = a.scale(2.0);
                Tensor.axpby(1, a, 1, b);
            }
        }
    }

    @Test
    void hundredThousandCreateFreeCyclesLeaveNativeMemoryFlat() {
        long handles = Tensor.liveCount();
        churn(20_000); // warm-up: allocator caches, JIT, class loading
        long before = nativeHeapInUse();
        churn(100_000); // 300 000 native tensors of 1 KiB each (+ handles, Arena scratch) created and freed
        long after = nativeHeapInUse();
        assertEquals(handles, Tensor.liveCount(), "native tensor handles leaked");
        long growth = after - before;
        // One leaked 1 KiB tensor per cycle would be ~100 MB, one leaked 16-byte handle ~1.6 MB: allow 512 KiB of noise.
        assertTrue(growth < 512 * 1024, "native heap in use grew by " + growth + " bytes over 100 000 cycles");
    }

    @Test
    void scopeFreesWhatWasCreatedInsideExceptWhatIsKept() {
        long base = Tensor.liveCount();
        Tensor kept;
        Tensor inner;
        try (TensorScope scope = TensorScope.open()) {
            Tensor a = Tensor.of(new float[] {1, 2}, 2);
            inner = a.scale(3);
            kept = scope.keep(a.scale(5));
            assertEquals(base + 3, Tensor.liveCount());
            assertEquals(2, scope.size());
        }
        assertTrue(inner.isClosed());
        assertFalse(kept.isClosed());
        assertArrayEquals(new float[] {5, 10}, kept.toFloatArray());
        kept.close();
        assertEquals(base, Tensor.liveCount());
    }

    @Test
    void nestedScopesOwnTheirOwnTensors() {
        long base = Tensor.liveCount();
        try (TensorScope outer = TensorScope.open()) {
            Tensor a = Tensor.of(new float[] {1}, 1);
            try (TensorScope inner = TensorScope.open()) {
                Tensor.of(new float[] {2}, 1);
                Tensor.of(new float[] {3}, 1);
                assertEquals(2, inner.size());
            }
            assertEquals(1, outer.size());
            assertFalse(a.isClosed());
        }
        assertEquals(base, Tensor.liveCount());
    }

    @Test
    void closingInsideAScopeIsFineAndScopesCloseInOrder() {
        TensorScope outer = TensorScope.open();
        TensorScope inner = TensorScope.open();
        Tensor t = Tensor.of(new float[] {1}, 1);
        t.close();
        assertEquals(0, inner.size());
        assertThrows(IllegalStateException.class, outer::close, "closing the outer scope first is a bug");
        inner.close();
        outer.close();
    }

    @Test
    void cleanerFreesForgottenTensors() throws InterruptedException {
        long base = Tensor.liveCount();
        List<Object> sink = new ArrayList<>();
        for (int i = 0; i < 1000; i++) Tensor.of(new float[] {i}, 1); // never closed, no scope
        sink.clear();
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (Tensor.liveCount() > base && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(50);
        }
        assertEquals(base, Tensor.liveCount(), "the Cleaner did not free forgotten tensors");
        assertTrue(Tensor.leakCount() >= 1000, "the Cleaner's frees are counted as leaks");
    }

    @Test
    void hostMemoryFiguresAreReadOnLinux() {
        long peak = HostMemory.peakResidentBytes();
        long now = HostMemory.residentBytes();
        assertTrue(now > 1 << 20, "resident set " + now);
        assertTrue(peak >= now, "peak " + peak + " below current " + now);
    }
}
