package dev.clif.tensor;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;
import org.junit.jupiter.api.Test;

class CpuCacheTest {
    static final long FLOATS = 1 << 20; // 4 MiB: above the cache's 1 MiB floor

    static float[] ramp(int n, float offset) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = offset + i;
        return v;
    }

    @Test
    void aFreedLargeBlockIsKeptAndTakenAgainBySameSizedTensor() {
        assertTrue(CpuCache.stats().limitBytes() > 0, "the cache is on in the test JVM");
        CpuCache.release();
        Tensor t = Tensor.zeros(DType.F32, Device.CPU, FLOATS);
        CpuCache.Stats alive = CpuCache.stats();
        assertTrue(alive.inUseBytes() >= FLOATS * 4, alive.toString());
        t.close();
        // At least, not exactly: a Cleaner may free another test's leaked tensor meanwhile (it only adds to the cache).
        CpuCache.Stats freed = CpuCache.stats();
        assertTrue(freed.inUseBytes() <= alive.inUseBytes() - FLOATS * 4, freed + " after " + alive);
        assertTrue(freed.cachedBytes() >= alive.cachedBytes() + FLOATS * 4, freed + " after " + alive);
        try (Tensor again = Tensor.zeros(DType.F32, Device.CPU, FLOATS)) {
            assertTrue(CpuCache.stats().cachedBytes() < freed.cachedBytes(), "the kept block was reused: " + CpuCache.stats());
            for (float f : again.toFloatArray()) assertEquals(0f, f, "zeros in a reused block");
        }
    }

    @Test
    void twoLiveTensorsNeverShareABlock() {
        CpuCache.release();
        for (int round = 0; round < 3; round++) {
            try (Tensor a = Tensor.of(ramp((int) FLOATS, 0), FLOATS); Tensor b = Tensor.of(ramp((int) FLOATS, 7), FLOATS)) {
                float[] av = a.toFloatArray(), bv = b.toFloatArray();
                for (int i = 0; i < FLOATS; i += 4099) {
                    assertEquals(i, av[i]);
                    assertEquals(7f + i, bv[i]);
                }
            }
        }
    }

    @Test
    void aLimitOfZeroStopsCachingAndTheLimitComesBack() {
        long limit = CpuCache.stats().limitBytes();
        try {
            CpuCache.setLimit(0);
            assertEquals(0, CpuCache.stats().cachedBytes(), "cached blocks beyond the new limit were freed");
            Tensor.zeros(DType.F32, Device.CPU, FLOATS).close();
            assertEquals(0, CpuCache.stats().cachedBytes(), "nothing kept at limit 0");
        } finally {
            CpuCache.setLimit(limit);
        }
        Tensor.zeros(DType.F32, Device.CPU, FLOATS).close();
        assertTrue(CpuCache.stats().cachedBytes() >= FLOATS * 4);
        assertEquals(limit, CpuCache.stats().limitBytes());
    }

    @Test
    void smallTensorsStayWithTheSystemAllocator() {
        long inUse = CpuCache.stats().inUseBytes();
        try (Tensor small = Tensor.zeros(DType.F32, Device.CPU, 1000)) {
            assertEquals(inUse, CpuCache.stats().inUseBytes());
        }
    }

    @Test
    void aNegativeLimitIsRefusedWithItsValue() {
        ClifException e = assertThrows(ClifException.class, () -> CpuCache.setLimit(-5));
        assertTrue(e.getMessage().contains("-5"), e.getMessage());
    }
}
