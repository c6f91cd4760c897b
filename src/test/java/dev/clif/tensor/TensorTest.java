package dev.clif.tensor;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.junit.jupiter.api.Test;

class TensorTest {
    @Test
    void roundTripsFloatsWithShapeAndDtype() {
        float[] data = {1, 2, 3, 4, 5, 6};
        try (Tensor t = Tensor.of(data, 2, 3)) {
            assertArrayEquals(new long[] {2, 3}, t.shape());
            assertEquals(DType.F32, t.dtype());
            assertEquals(Device.CPU, t.device());
            assertEquals(6, t.numel());
            assertEquals(2, t.ndim());
            assertArrayEquals(data, t.toFloatArray());
        }
    }

    @Test
    void roundTripsEveryDtypeThroughNativeSegments() {
        for (DType d : DType.values()) {
            byte[] bytes = new byte[4 * d.byteSize];
            for (int i = 0; i < bytes.length; i++) bytes[i] = (byte) (d == DType.BOOL ? i % 2 : i * 7 + 1);
            try (Arena arena = Arena.ofConfined(); Tensor t = Tensor.fromSegment(MemorySegment.ofArray(bytes), d, Device.CPU, 2, 2)) {
                assertEquals(d, t.dtype());
                MemorySegment out = arena.allocate(bytes.length);
                t.copyTo(out);
                assertArrayEquals(bytes, out.toArray(ValueLayout.JAVA_BYTE), d.toString());
            }
        }
    }

    @Test
    void matmulTransposeDotAndInPlaceAddMatchHostArithmetic() {
        float[] a = {1, 2, 3, 4, 5, 6};          // [2, 3]
        float[] b = {7, 8, 9, 10, 11, 12};       // [3, 2]
        try (TensorScope s = TensorScope.open()) {
            Tensor ta = Tensor.of(a, 2, 3), tb = Tensor.of(b, 3, 2);
            Tensor c = ta.matmul(tb);
            assertArrayEquals(new long[] {2, 2}, c.shape());
            assertArrayEquals(new float[] {58, 64, 139, 154}, c.toFloatArray());
            Tensor at = ta.transpose();
            assertArrayEquals(new long[] {3, 2}, at.shape());
            assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, at.toFloatArray());
            assertEquals(1 * 7 + 2 * 8 + 3 * 9 + 4 * 10 + 5 * 11 + 6 * 12, ta.dot(tb.reshape(2, 3)), 0);
            Tensor acc = Tensor.of(new float[] {1, 1, 1, 1}, 2, 2);
            acc.addScaledInPlace(0.5, c);
            assertArrayEquals(new float[] {30, 33, 70.5f, 78}, acc.toFloatArray());
            Exception e = assertThrows(RuntimeException.class, () -> ta.matmul(ta));
            assertTrue(e.getMessage().contains("[2, 3] x [2, 3]"), e.getMessage());
            assertThrows(RuntimeException.class, () -> acc.addScaledInPlace(1, ta));
            assertThrows(RuntimeException.class, () -> ta.dot(tb));
        }
    }

    @Test
    void convertsDtypes() {
        try (Tensor t = Tensor.of(new float[] {1.5f, -2.25f}, 2); Tensor d = t.to(DType.F64); Tensor h = t.to(DType.F16);
             Tensor back = h.to(DType.F32)) {
            assertArrayEquals(new double[] {1.5, -2.25}, d.toDoubleArray());
            assertArrayEquals(new float[] {1.5f, -2.25f}, back.toFloatArray());
            assertEquals(2, h.byteSize() / 2);
        }
    }

    @Test
    void randnMatchesTorchManualSeed() {
        // torch.manual_seed(0); torch.randn(3) == [1.5410, -0.2934, -2.1788]
        try (Tensor t = Tensor.randn(0, DType.F32, Device.CPU, 3)) {
            float[] v = t.toFloatArray();
            assertEquals(1.5410f, v[0], 1e-4);
            assertEquals(-0.2934f, v[1], 1e-4);
            assertEquals(-2.1788f, v[2], 1e-4);
        }
    }

    @Test
    void arithmetic() {
        try (Tensor a = Tensor.of(new float[] {1, 2}, 2); Tensor b = Tensor.of(new float[] {10, 20}, 2);
             Tensor c = Tensor.axpby(2, a, 0.5, b); Tensor s = a.scale(-1)) {
            assertArrayEquals(new float[] {7, 14}, c.toFloatArray());
            assertArrayEquals(new float[] {-1, -2}, s.toFloatArray());
            assertEquals(12.0, c.maxAbsDiff(a), 0);
            assertTrue(c.allFinite());
            assertEquals(7 * 7 + 14 * 14, c.sumOfSquares(), 0);
            // accumulated in double: 1e20² would overflow a float sum
            try (Tensor big = Tensor.of(new float[] {1e20f, -1e20f}, 2); Tensor none = Tensor.zeros(DType.F32, Device.CPU, 0)) {
                assertEquals(2e40, big.sumOfSquares(), 2e40 * 1e-6);
                assertEquals(0, none.sumOfSquares());
            }
        }
        try (Tensor n = Tensor.of(new float[] {1, Float.NaN}, 2)) {
            assertFalse(n.allFinite());
        }
    }

    @Test
    void catNarrowMulClamp() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor a = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2);
            Tensor b = Tensor.of(new float[] {5, 6}, 1, 2);
            Tensor c = Tensor.cat(0, a, b);
            assertArrayEquals(new long[] {3, 2}, c.shape());
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, c.toFloatArray());
            assertArrayEquals(new float[] {3, 4, 5, 6}, c.narrow(0, 1, 2).toFloatArray());
            assertArrayEquals(new float[] {5, 12, 21, 32}, a.mul(Tensor.of(new float[] {5, 6, 7, 8}, 2, 2)).toFloatArray());
            assertArrayEquals(new float[] {2, 2, 3, 3}, a.clamp(2, 3).toFloatArray());
            assertThrows(IllegalArgumentException.class, () -> a.clamp(1, 0));
            ClifNativeException e = assertThrows(ClifNativeException.class, () -> c.narrow(0, 2, 5));
            assertTrue(e.getMessage().startsWith("clif_tensor_narrow: "), e.getMessage());
        }
    }

    @Test
    void reshapeAndCopy() {
        try (Tensor a = Tensor.of(new float[] {1, 2, 3, 4}, 4); Tensor r = a.reshape(2, 2); Tensor c = r.copy()) {
            assertArrayEquals(new long[] {2, 2}, c.shape());
            assertArrayEquals(new float[] {1, 2, 3, 4}, c.toFloatArray());
        }
    }

    @Test
    void scalarsAndEmptyTensors() {
        try (Tensor s = Tensor.scalar(3f); Tensor e = Tensor.zeros(DType.F32, Device.CPU, 0, 5)) {
            assertEquals(0, s.ndim());
            assertEquals(3.0, s.item(), 0);
            assertEquals(0, e.numel());
            assertArrayEquals(new float[0], e.toFloatArray());
        }
    }

    @Test
    void javaValidatesBeforeCallingNative() {
        assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[3], 2, 2));
        assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[0], -1));
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(DType.F32, Device.CPU, new long[17]));
        try (Tensor t = Tensor.of(new float[] {1, 2}, 2)) {
            assertThrows(IllegalArgumentException.class, () -> t.copyTo(MemorySegment.ofArray(new float[3])));
            assertThrows(IllegalStateException.class, t::toLongArray);
        }
    }

    @Test
    void closedTensorsRefuseUse() {
        Tensor t = Tensor.of(new float[] {1}, 1);
        t.close();
        t.close(); // idempotent
        assertTrue(t.isClosed());
        assertThrows(IllegalStateException.class, t::shape);
    }
}
