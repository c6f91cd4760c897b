package dev.clif.shapes;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

import javax.imageio.ImageIO;

/**
 * An 8-bit RGB picture, stored row-major as {@code height x width x 3} bytes (HWC, as PIL and numpy hold
 * it). The array is not copied: an image built on an array shares it.
 */
public record Image(int width, int height, byte[] rgb) {
    /** The colour of the padding between the cells of a {@link #grid}: mid-grey, set apart from black. */
    public static final int GRID_PAD = 0x808080;

    public Image {
        if (width < 1 || height < 1) throw new IllegalArgumentException("image " + width + "x" + height);
        Objects.requireNonNull(rgb, "rgb");
        if (rgb.length != 3L * width * height)
            throw new IllegalArgumentException(
                    "rgb has " + rgb.length + " bytes, a " + width + "x" + height + " RGB image needs " + 3L * width * height);
    }

    /** A black (background) image. */
    public static Image blank(int width, int height) {
        return new Image(width, height, new byte[3 * width * height]);
    }

    /** One channel (0 = R, 1 = G, 2 = B) of pixel (x, y), 0..255. */
    public int channel(int x, int y, int c) {
        return rgb[3 * (y * width + x) + c] & 0xFF;
    }

    /** Pixel (x, y) as 0xRRGGBB. */
    public int pixel(int x, int y) {
        int i = 3 * (y * width + x);
        return ((rgb[i] & 0xFF) << 16) | ((rgb[i + 1] & 0xFF) << 8) | (rgb[i + 2] & 0xFF);
    }

    /** Sets pixel (x, y) to 0xRRGGBB (the image is mutable through its array). */
    public void setPixel(int x, int y, int rgb24) {
        int i = 3 * (y * width + x);
        rgb[i] = (byte) (rgb24 >>> 16);
        rgb[i + 1] = (byte) (rgb24 >>> 8);
        rgb[i + 2] = (byte) rgb24;
    }

    /** A copy with its own array. */
    public Image copy() {
        return new Image(width, height, rgb.clone());
    }

    /**
     * The image as {@code 3 x height x width} floats (CHW) in [-1, 1], {@code v / 127.5 - 1}: what a VAE
     * encoder takes (diffusers' {@code VaeImageProcessor.normalize} of {@code v / 255}).
     */
    public float[] toCHW() {
        float[] out = new float[3 * width * height];
        int plane = width * height;
        for (int p = 0; p < plane; p++)
            for (int c = 0; c < 3; c++) out[c * plane + p] = (rgb[3 * p + c] & 0xFF) / 255f * 2f - 1f;
        return out;
    }

    /**
     * The image from {@code 3 x h x w} floats (CHW) in [-1, 1], as diffusers turns a VAE decoder's output
     * into uint8: {@code round(clamp(x / 2 + 0.5, 0, 1) * 255)} in float32, rounding half to even as numpy
     * does. NaN becomes 0.
     */
    public static Image fromCHW(float[] chw, int w, int h) {
        int plane = w * h;
        if (chw.length != 3 * plane)
            throw new IllegalArgumentException("chw has " + chw.length + " floats, 3x" + h + "x" + w + " needs " + 3 * plane);
        byte[] rgb = new byte[3 * plane];
        for (int p = 0; p < plane; p++)
            for (int c = 0; c < 3; c++) {
                float v = chw[c * plane + p] / 2f + 0.5f;
                v = v != v ? 0f : Math.min(1f, Math.max(0f, v));
                rgb[3 * p + c] = (byte) (int) Math.rint(v * 255f);
            }
        return new Image(w, h, rgb);
    }

    /** The image from the CHW floats at {@code offset} in a batch of images ({@code N x 3 x h x w}). */
    public static Image fromCHW(float[] batch, int index, int w, int h) {
        int n = 3 * w * h;
        return fromCHW(Arrays.copyOfRange(batch, index * n, (index + 1) * n), w, h);
    }

    /** The image as a {@link BufferedImage} of type {@code TYPE_INT_RGB}. */
    public BufferedImage toBufferedImage() {
        BufferedImage bi = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) bi.setRGB(x, y, pixel(x, y));
        return bi;
    }

    /** The RGB of a {@link BufferedImage} (alpha dropped). */
    public static Image fromBufferedImage(BufferedImage bi) {
        Image im = blank(bi.getWidth(), bi.getHeight());
        for (int y = 0; y < im.height; y++)
            for (int x = 0; x < im.width; x++) im.setPixel(x, y, bi.getRGB(x, y) & 0xFFFFFF);
        return im;
    }

    /**
     * Writes the image as PNG: into a temporary file beside {@code file}, then renamed over it (atomically
     * where the file system allows), so a reader never sees half a file. Creates missing parent folders.
     */
    public void writePng(Path file) {
        dev.clif.io.Png.write(toBufferedImage(), file);
    }

    /** Reads a PNG (or any format ImageIO reads) as RGB. */
    public static Image readPng(Path file) {
        try {
            BufferedImage bi = ImageIO.read(file.toFile());
            if (bi == null) throw new IOException("not an image ImageIO can read");
            return fromBufferedImage(bi);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /**
     * The images laid out in a grid, one list per row, with {@code pad} pixels of {@link #GRID_PAD} grey
     * around and between the cells. Every cell is as large as the largest image; smaller images sit at the
     * top-left of their cell, and shorter rows leave their right-hand cells grey. The grid is
     * {@code cols * cellW + (cols + 1) * pad} wide and {@code rows * cellH + (rows + 1) * pad} high.
     */
    public static Image grid(List<List<Image>> rows, int pad) {
        if (pad < 0) throw new IllegalArgumentException("pad " + pad + " < 0");
        int cols = 0, cw = 0, ch = 0;
        for (List<Image> row : rows) {
            cols = Math.max(cols, row.size());
            for (Image im : row) {
                cw = Math.max(cw, im.width);
                ch = Math.max(ch, im.height);
            }
        }
        if (rows.isEmpty() || cols == 0) throw new IllegalArgumentException("an empty grid");
        int gw = cols * cw + (cols + 1) * pad, gh = rows.size() * ch + (rows.size() + 1) * pad;
        Image g = blank(gw, gh);
        for (int y = 0; y < gh; y++)
            for (int x = 0; x < gw; x++) g.setPixel(x, y, GRID_PAD);
        for (int r = 0; r < rows.size(); r++) {
            List<Image> row = rows.get(r);
            for (int c = 0; c < row.size(); c++) {
                Image im = row.get(c);
                int ox = pad + c * (cw + pad), oy = pad + r * (ch + pad);
                for (int y = 0; y < im.height; y++)
                    System.arraycopy(im.rgb, 3 * y * im.width, g.rgb, 3 * ((oy + y) * gw + ox), 3 * im.width);
            }
        }
        return g;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Image that && width == that.width && height == that.height && Arrays.equals(rgb, that.rgb);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * width + height) + Arrays.hashCode(rgb);
    }

    @Override
    public String toString() {
        return "Image[" + width + "x" + height + "]";
    }
}
