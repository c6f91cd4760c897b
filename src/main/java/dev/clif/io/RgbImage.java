package dev.clif.io;

import dev.clif.ClifException;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

import javax.imageio.ImageIO;

/**
 * An 8-bit RGB picture as the scorers see it: {@code height x width x 3} bytes, row-major (HWC, as PIL and numpy
 * hold it). The array is shared, not copied.
 */
public record RgbImage(int width, int height, byte[] rgb) {
    public RgbImage {
        if (width < 1 || height < 1) throw new IllegalArgumentException("image " + width + "x" + height);
        Objects.requireNonNull(rgb, "rgb");
        if (rgb.length != 3L * width * height)
            throw new IllegalArgumentException("rgb has " + rgb.length + " bytes, a " + width + "x" + height + " RGB image needs " + 3L * width * height);
    }

    /** Channel {@code c} (0 R, 1 G, 2 B) of pixel (x, y), 0..255. */
    public int channel(int x, int y, int c) {
        return rgb[3 * (y * width + x) + c] & 0xFF;
    }

    /** The PNG encoding of the image (what {@code results.jsonl} hashes). Deterministic for equal pixels. */
    public byte[] pngBytes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(Png.rgb(rgb, width, height), "png", out)) throw new IOException("no PNG writer available");
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode a PNG: " + e.getMessage(), e);
        }
        return out.toByteArray();
    }

    /** Decodes PNG (or any format ImageIO reads) bytes; {@code what} names the source in errors. */
    public static RgbImage decode(byte[] bytes, String what) {
        BufferedImage bi;
        try {
            bi = ImageIO.read(new ByteArrayInputStream(bytes));
        } catch (IOException e) {
            throw new ClifException(what + ": not a readable image: " + e.getMessage(), e);
        }
        if (bi == null) throw new ClifException(what + ": not an image format Clif reads (PNG, JPEG, BMP, GIF)");
        int w = bi.getWidth(), h = bi.getHeight();
        byte[] rgb = new byte[3 * w * h];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int p = bi.getRGB(x, y), i = 3 * (y * w + x);
                rgb[i] = (byte) (p >>> 16);
                rgb[i + 1] = (byte) (p >>> 8);
                rgb[i + 2] = (byte) p;
            }
        return new RgbImage(w, h, rgb);
    }

    public static RgbImage read(Path file) {
        try {
            return decode(Files.readAllBytes(file), file.toString());
        } catch (IOException e) {
            throw new ClifException(file + ": cannot read: " + e.getMessage(), e);
        }
    }
}
