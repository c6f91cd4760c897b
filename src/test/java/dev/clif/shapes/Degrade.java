package dev.clif.shapes;

import java.util.SplittableRandom;

/** What a small generative model does to a picture, roughly: noise and blur. */
final class Degrade {
    private Degrade() {}

    /** Adds independent Gaussian noise of {@code sigma} levels to every channel, rounded and clamped. */
    static Image noise(Image im, double sigma, SplittableRandom rnd) {
        byte[] in = im.rgb(), out = new byte[in.length];
        for (int i = 0; i < in.length; i++) {
            long v = Math.round((in[i] & 0xFF) + sigma * rnd.nextGaussian());
            out[i] = (byte) Math.clamp(v, 0, 255);
        }
        return new Image(im.width(), im.height(), out);
    }

    /** A 3x3 box blur (edges replicated), rounded. */
    static Image blur3(Image im) {
        int w = im.width(), h = im.height();
        byte[] in = im.rgb(), out = new byte[in.length];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++) {
                    int sum = 0;
                    for (int dy = -1; dy <= 1; dy++)
                        for (int dx = -1; dx <= 1; dx++) {
                            int xx = Math.clamp(x + dx, 0, w - 1), yy = Math.clamp(y + dy, 0, h - 1);
                            sum += in[3 * (yy * w + xx) + c] & 0xFF;
                        }
                    out[3 * (y * w + x) + c] = (byte) Math.round(sum / 9.0);
                }
        return new Image(w, h, out);
    }
}
