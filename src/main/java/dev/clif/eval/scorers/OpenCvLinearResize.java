package dev.clif.eval.scorers;

/**
 * {@code cv2.resize(src, (dw, dh))} with its default {@code INTER_LINEAR} on 8-bit interleaved pixels, bit for bit as
 * OpenCV 4.x computes it on x86-64 (its generic separable fixed-point path in {@code imgproc/src/resize.cpp}): the
 * NudeNet detector's input goes through this resize inside {@code cv2.dnn.blobFromImage}, and a scorer that rounds
 * differently scores different pixels.
 *
 * <p>What OpenCV does, and so what this does:
 * <ul>
 *   <li>Pixel centres are aligned: destination column {@code dx} samples source column
 *       {@code fx = (float) ((dx + 0.5) * scale - 0.5)}, {@code scale = 1 / (dw / (double) sw)}, split into
 *       {@code floor(fx)} and its fraction.</li>
 *   <li>The two weights are {@code rint((1 - f) * 2048)} and {@code rint(f * 2048)} (11-bit fixed point, round half to
 *       even as {@code saturate_cast<short>} does). Columns left of the first centre or right of the last take the edge
 *       pixel with weights (2048, 0); rows outside are clamped to the first or last row, keeping their weights.</li>
 *   <li>The horizontal pass is exact integer arithmetic. The vertical one is not a rounded division:
 *       {@code (((h0 >> 4) * b0 >> 16) + ((h1 >> 4) * b1 >> 16) + 2) >> 2}, truncating twice, which OpenCV's SIMD
 *       code computes and its scalar code for 8-bit linear resizes repeats (a specialisation of
 *       {@code VResizeLinear}) so every byte of a row agrees. It is one below the rounded
 *       {@code (h0 * b0 + h1 * b1 + 2^21) >> 22} for some pixels.</li>
 *   <li>An exact 2x downscale goes through OpenCV's area path, {@code (a + b + c + d + 2) >> 2}, which the formula
 *       above already equals; an unchanged size is a copy, which it also equals.</li>
 * </ul>
 * Checked against OpenCV 4.6.0 (Debian's python3-opencv, no IPP) by {@code src/test/python/cv2_golden.py}, whose
 * digests {@code NudeNetResizeTest} compares with; later 4.x sources compute the same formulas.
 */
public final class OpenCvLinearResize {
    private static final int COEF_BITS = 11;
    private static final int COEF_SCALE = 1 << COEF_BITS;

    private OpenCvLinearResize() {}

    /**
     * {@code src} is {@code sh} rows of {@code sw * channels} bytes; the result is {@code dh} rows of
     * {@code dw * channels} bytes.
     */
    public static byte[] resize(byte[] src, int sw, int sh, int channels, int dw, int dh) {
        if (sw < 1 || sh < 1 || dw < 1 || dh < 1 || channels < 1)
            throw new IllegalArgumentException("resize " + sw + "x" + sh + " to " + dw + "x" + dh + " with " + channels + " channels");
        if ((long) sw * sh * channels != src.length)
            throw new IllegalArgumentException(src.length + " bytes is not " + sw + "x" + sh + "x" + channels);
        if (sw == dw && sh == dh) return src.clone();

        int[] xofs = new int[dw];
        int[] alpha = new int[2 * dw];
        int xmax = dw;
        double scaleX = 1.0 / ((double) dw / sw);
        for (int dx = 0; dx < dw; dx++) {
            float fx = (float) ((dx + 0.5) * scaleX - 0.5);
            int sx = (int) Math.floor(fx);
            fx -= sx;
            if (sx < 0) {
                fx = 0;
                sx = 0;
            }
            if (sx + 1 >= sw) {
                xmax = Math.min(xmax, dx);
                if (sx >= sw - 1) {
                    fx = 0;
                    sx = sw - 1;
                }
            }
            xofs[dx] = sx;
            alpha[2 * dx] = coefficient(1f - fx);
            alpha[2 * dx + 1] = coefficient(fx);
        }

        int width = dw * channels;
        byte[] dst = new byte[dh * width];
        int[] row0 = new int[width], row1 = new int[width];
        int have0 = -1, have1 = -1;
        double scaleY = 1.0 / ((double) dh / sh);
        for (int dy = 0; dy < dh; dy++) {
            float fy = (float) ((dy + 0.5) * scaleY - 0.5);
            int sy = (int) Math.floor(fy);
            fy -= sy;
            int b0 = coefficient(1f - fy), b1 = coefficient(fy);
            int y0 = clampRow(sy, sh), y1 = clampRow(sy + 1, sh);
            if (y0 != have0) {
                if (y0 == have1) System.arraycopy(row1, 0, row0, 0, width);
                else horizontal(src, y0 * sw * channels, channels, dw, xofs, alpha, xmax, row0);
                have0 = y0;
            }
            if (y1 != have1) {
                horizontal(src, y1 * sw * channels, channels, dw, xofs, alpha, xmax, row1);
                have1 = y1;
            }
            int out = dy * width;
            for (int x = 0; x < width; x++)
                dst[out + x] = (byte) ((((row0[x] >> 4) * b0 >> 16) + ((row1[x] >> 4) * b1 >> 16) + 2) >> 2);
        }
        return dst;
    }

    /** One source row through the horizontal taps, in 11-bit fixed point. */
    private static void horizontal(byte[] src, int rowStart, int cn, int dw, int[] xofs, int[] alpha, int xmax, int[] out) {
        for (int dx = 0; dx < dw; dx++) {
            int s = rowStart + xofs[dx] * cn;
            for (int c = 0; c < cn; c++) {
                int p0 = src[s + c] & 0xFF;
                out[dx * cn + c] = dx < xmax ? p0 * alpha[2 * dx] + (src[s + cn + c] & 0xFF) * alpha[2 * dx + 1] : p0 * COEF_SCALE;
            }
        }
    }

    /** saturate_cast<short>(w * 2048): cvRound rounds half to even. */
    private static int coefficient(float w) {
        return (int) Math.rint(w * COEF_SCALE);
    }

    private static int clampRow(int y, int rows) {
        return y < 0 ? 0 : Math.min(y, rows - 1);
    }
}
