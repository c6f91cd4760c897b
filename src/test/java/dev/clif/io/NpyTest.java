package dev.clif.io;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyTest {
    /** The bytes numpy.save writes: magic, version, header length, the header padded with spaces to 64 and '\n', data. */
    static byte[] npy(int major, String header, byte[] data) {
        int lenBytes = major == 1 ? 2 : 4;
        byte[] h = header.getBytes(major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        int prefix = 6 + 2 + lenBytes;
        int total = (prefix + h.length + 1 + 63) / 64 * 64;
        int headerLen = total - prefix;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0x93);
        out.writeBytes("NUMPY".getBytes(StandardCharsets.US_ASCII));
        out.write(major);
        out.write(0);
        ByteBuffer len = ByteBuffer.allocate(lenBytes).order(ByteOrder.LITTLE_ENDIAN);
        if (major == 1) len.putShort((short) headerLen);
        else len.putInt(headerLen);
        out.writeBytes(len.array());
        out.writeBytes(h);
        for (int i = h.length; i < headerLen - 1; i++) out.write(' ');
        out.write('\n');
        out.writeBytes(data);
        return out.toByteArray();
    }

    static String header(String descr, boolean fortran, String shape) {
        return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape + ", }";
    }

    static byte[] f32(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) b.putFloat(x);
        return b.array();
    }

    static byte[] f64(double... v) {
        ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (double x : v) b.putDouble(x);
        return b.array();
    }

    static byte[] f16(float... v) {
        ByteBuffer b = ByteBuffer.allocate(2 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) b.putShort(Float.floatToFloat16(x));
        return b.array();
    }

    /** Exactly what numpy 1.26 writes for numpy.save(f, numpy.array([[1, 2, 3], [4, 5, 6]], dtype='<f4')). */
    @Test
    void readsTheBytesNumpyWrites() {
        StringBuilder sb = new StringBuilder("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
        while (sb.length() < 117) sb.append(' ');
        sb.append('\n');
        byte[] head = sb.toString().getBytes(StandardCharsets.ISO_8859_1);
        assertEquals(118, head.length);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 118, 0});
        out.writeBytes(head);
        out.writeBytes(f32(1, 2, 3, 4, 5, 6));
        Npy a = Npy.parse(out.toByteArray(), "a.npy");
        assertEquals("<f4", a.dtype());
        assertArrayEquals(new long[] {2, 3}, a.shape());
        assertArrayEquals(new double[] {1, 2, 3, 4, 5, 6}, a.values());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, a.floats());
    }

    @Test
    void readsVersionsOneTwoThreeAndEveryFloatWidth(@TempDir Path dir) throws IOException {
        float[] v = {0.5f, -1.25f, 3.0e-3f, 65504f};
        for (int major = 1; major <= 3; major++) {
            Path f = dir.resolve("v" + major + ".npy");
            Files.write(f, npy(major, header("<f4", false, "(2, 2)"), f32(v)));
            Npy a = Npy.read(f);
            assertArrayEquals(new long[] {2, 2}, a.shape(), "version " + major);
            assertArrayEquals(v, a.floats(), "version " + major);
        }
        Npy d = Npy.parse(npy(1, header("<f8", false, "(3,)"), f64(Math.PI, -0.1, 1e300)), "d.npy");
        assertArrayEquals(new double[] {Math.PI, -0.1, 1e300}, d.values());
        assertArrayEquals(new long[] {3}, d.shape());
        // float16 as Q16's published ViT-L/14 prompts are stored: exact on the float16 grid.
        Npy h = Npy.parse(npy(1, header("<f2", false, "(1, 4)"), f16(0.5f, -2f, 0.1f, 1024f)), "h.npy");
        assertEquals("<f2", h.dtype());
        assertArrayEquals(new double[] {0.5, -2, Float.float16ToFloat(Float.floatToFloat16(0.1f)), 1024}, h.values());
        // A scalar has shape () and one element; an empty array is fine too.
        Npy s = Npy.parse(npy(1, header("<f4", false, "()"), f32(7)), "s.npy");
        assertArrayEquals(new long[0], s.shape());
        assertArrayEquals(new double[] {7}, s.values());
        assertEquals(0, Npy.parse(npy(1, header("<f4", false, "(0, 5)"), new byte[0]), "e.npy").values().length);
        // Double quotes, keys in any order, no trailing comma, Python 2 long suffix.
        Npy q = Npy.parse(npy(1, "{\"shape\": (1L, 2L), \"fortran_order\": False, \"descr\": \"<f4\"}", f32(1, 2)), "q.npy");
        assertArrayEquals(new long[] {1, 2}, q.shape());
    }

    private static void assertRefused(byte[] bytes, String... fragments) {
        ClifException e = assertThrows(ClifException.class, () -> Npy.parse(bytes, "/data/x.npy"));
        assertTrue(e.getMessage().startsWith("/data/x.npy: "), e.getMessage());
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + f + "' not in: " + e.getMessage());
    }

    @Test
    void refusesWhatItCannotReadFaithfully() {
        assertRefused(npy(1, header(">f4", false, "(2,)"), f32(1, 2)), "big-endian", ">f4");
        assertRefused(npy(1, header("<f4", true, "(2, 2)"), f32(1, 2, 3, 4)), "Fortran order");
        assertRefused(npy(1, header("|O", false, "(2,)"), new byte[16]), "object array");
        assertRefused(npy(1, header("<i8", false, "(2,)"), new byte[16]), "dtype <i8", "<f4");
        assertRefused(npy(1, "{'descr': [('a', '<f4'), ('b', '<f4')], 'fortran_order': False, 'shape': (1,), }", new byte[8]),
                "structured array");
        assertRefused(npy(1, header("<f4", false, "(2, 3)"), f32(1, 2, 3, 4, 5)), "truncated", "24 data bytes", "has 20");
        assertRefused(npy(1, header("<f4", false, "(2,)"), f32(1, 2, 3)), "4 bytes after the last element");
        assertRefused("PK\u0003\u0004 not numpy".getBytes(StandardCharsets.ISO_8859_1), "not a NumPy .npy file");
        assertRefused(npy(1, "{'descr': '<f4', 'shape': (2,), }", f32(1, 2)), "lacks 'fortran_order'");
        assertRefused(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1), }", f32(1, 2)), "malformed .npy header");
        assertRefused(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", f32(1, 2)), "malformed .npy header");
        assertRefused(npy(1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", f32(1, 2)), "malformed .npy header");
        assertRefused(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': 2}", f32(1, 2)), "malformed .npy header");
        assertRefused(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': ('a',)}", f32(1, 2)), "'shape' is not a tuple of integers");
        byte[] v4 = npy(1, header("<f4", false, "(1,)"), f32(1));
        v4[6] = 4;
        assertRefused(v4, "version 4.0");
        byte[] cut = Arrays.copyOf(npy(1, header("<f4", false, "(1,)"), f32(1)), 40);
        assertRefused(cut, "truncated .npy header");
        assertRefused(Arrays.copyOf(cut, 9), "truncated .npy header");
        assertRefused(npy(1, header("<f4", false, "(99999999999, 99999999999)"), new byte[0]), "too large");
    }

    @Test
    void aMissingFileIsNamed(@TempDir Path dir) {
        Path f = dir.resolve("absent.npy");
        ClifException e = assertThrows(ClifException.class, () -> Npy.read(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("no such file"), e.getMessage());
    }
}
