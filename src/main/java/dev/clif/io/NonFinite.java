package dev.clif.io;

import dev.clif.tensor.DType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Finds NaN/Inf in raw little-endian tensor bytes without copying them. */
final class NonFinite {
    private NonFinite() {}

    /** Index of the first non-finite element, or -1 (always -1 for integer dtypes). */
    static long firstIndex(MemorySegment bytes, DType dtype) {
        return switch (dtype) {
            case F32 -> {
                ValueLayout.OfInt l = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
                long n = bytes.byteSize() / 4;
                for (long i = 0; i < n; i++)
                    if ((bytes.get(l, i * 4) & 0x7f800000) == 0x7f800000) yield i;
                yield -1;
            }
            case F64 -> {
                ValueLayout.OfLong l = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
                long n = bytes.byteSize() / 8;
                for (long i = 0; i < n; i++)
                    if ((bytes.get(l, i * 8) & 0x7ff0000000000000L) == 0x7ff0000000000000L) yield i;
                yield -1;
            }
            case F16 -> scan16(bytes, 0x7c00);
            case BF16 -> scan16(bytes, 0x7f80);
            default -> -1;
        };
    }

    private static long scan16(MemorySegment bytes, int exponentMask) {
        ValueLayout.OfShort l = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        long n = bytes.byteSize() / 2;
        for (long i = 0; i < n; i++)
            if ((bytes.get(l, i * 2) & exponentMask) == exponentMask) return i;
        return -1;
    }
}
