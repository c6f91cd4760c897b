package dev.clif.eval.scorers;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * What src/test/python/cv2_golden.py recorded from OpenCV, and the inputs it made, rebuilt here from the same
 * integer formulas.
 */
final class Cv2Golden {
    static final String RESOURCE = "/dev/clif/eval/nudenet/cv2-golden.txt";

    private Cv2Golden() {}

    /** The file's lines without comments. */
    static List<String> lines() {
        try (InputStream in = Cv2Golden.class.getResourceAsStream(RESOURCE)) {
            if (in == null) throw new IllegalStateException(RESOURCE + " is missing from the test resources");
            List<String> out = new ArrayList<>();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n"))
                if (!line.isBlank() && !line.startsWith("#")) out.add(line);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Lines starting with {@code kind + " "}, split on spaces. */
    static List<String[]> records(String kind) {
        return lines().stream().filter(l -> l.startsWith(kind + " ")).map(l -> l.split(" ")).toList();
    }

    /** The detections listed under the postprocess header {@code n seed w h size}. */
    static List<String> postprocessRows(int n, int seed, int w, int h, int size) {
        List<String> all = lines(), out = new ArrayList<>();
        String header = "postprocess " + n + " " + seed + " " + w + " " + h + " " + size;
        int at = all.indexOf(header);
        if (at < 0) throw new IllegalStateException("no '" + header + "' in " + RESOURCE);
        for (int i = at + 1; i < all.size() && !all.get(i).startsWith("postprocess "); i++) out.add(all.get(i));
        return out;
    }

    /** The script's LCG: 31-bit state, the top 23 bits out. */
    static final class Lcg {
        private long state;

        Lcg(long seed) {
            state = seed;
        }

        int next() {
            state = (state * 1103515245L + 12345L) % (1L << 31);
            return (int) (state >> 8);
        }
    }

    static byte[] pattern(int w, int h, int c) {
        byte[] out = new byte[w * h * c];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int k = 0; k < c; k++)
                    out[(y * w + x) * c + k] = (byte) (((x * 73 + y * 151 + k * 37) ^ ((x * y) >> 3)) & 0xFF);
        return out;
    }

    static byte[] lcgBytes(int w, int h, int c, long seed) {
        Lcg g = new Lcg(seed);
        byte[] out = new byte[w * h * c];
        for (int i = 0; i < out.length; i++) out[i] = (byte) (g.next() & 0xFF);
        return out;
    }

    static byte[] picture(String source, int w, int h, int c, long lcgSeed) {
        return switch (source) {
            case "pattern" -> pattern(w, h, c);
            case "lcg" -> lcgBytes(w, h, c, lcgSeed);
            default -> throw new IllegalArgumentException(source);
        };
    }

    /** The script's (22, n) candidate table, row-major. */
    static float[] candidates(int n, long seed) {
        Lcg g = new Lcg(seed);
        int[][] centres = {{40, 40}, {48, 44}, {200, 120}, {300, 300}, {10, 310}, {160, 160}};
        float[] out = new float[22 * n];
        for (int i = 0; i < n; i++) {
            int[] centre = centres[g.next() % centres.length];
            out[i] = (float) (centre[0] + (g.next() % 257 - 128) / 8.0);
            out[n + i] = (float) (centre[1] + (g.next() % 257 - 128) / 8.0);
            out[2 * n + i] = (float) (4 + (g.next() % 640) / 8.0);
            out[3 * n + i] = (float) (4 + (g.next() % 640) / 8.0);
            for (int c = 0; c < 18; c++) out[(4 + c) * n + i] = (float) ((g.next() % 1000) / 1000.0 * 0.3);
            // Python evaluates the right-hand side of out[4 + g.next() % 18, i] = ... before the subscript.
            float raised = (float) ((g.next() % 1000) / 1000.0);
            out[(4 + g.next() % 18) * n + i] = raised;
        }
        return out;
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sha256(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) b.putFloat(v);
        return sha256(b.array());
    }

    static int[] ints(String commaList) {
        return "-".equals(commaList) ? new int[0] : Arrays.stream(commaList.split(",")).mapToInt(Integer::parseInt).toArray();
    }
}
