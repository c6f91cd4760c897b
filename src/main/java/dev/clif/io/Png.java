package dev.clif.io;

import dev.clif.AtomicFile;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;

import javax.imageio.ImageIO;

/** PNG output, written atomically (temporary file beside the target, then rename). */
public final class Png {
    private Png() {}

    /** An RGB image from interleaved uint8 HWC bytes. */
    public static BufferedImage rgb(byte[] hwc, int width, int height) {
        if (hwc.length != width * height * 3)
            throw new IllegalArgumentException(hwc.length + " bytes is not a " + width + "x" + height + " RGB image");
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) {
                int i = (y * width + x) * 3;
                img.setRGB(x, y, (hwc[i] & 0xff) << 16 | (hwc[i + 1] & 0xff) << 8 | (hwc[i + 2] & 0xff));
            }
        return img;
    }

    /** Images side by side, separated by {@code gap} black pixels. */
    public static BufferedImage row(java.util.List<BufferedImage> images, int gap) {
        int w = images.stream().mapToInt(BufferedImage::getWidth).sum() + gap * (images.size() - 1);
        int h = images.stream().mapToInt(BufferedImage::getHeight).max().orElse(0);
        BufferedImage out = new BufferedImage(Math.max(1, w), Math.max(1, h), BufferedImage.TYPE_INT_RGB);
        int x = 0;
        for (BufferedImage i : images) {
            out.getGraphics().drawImage(i, x, 0, null);
            x += i.getWidth() + gap;
        }
        return out;
    }

    public static void write(BufferedImage image, Path path) {
        AtomicFile.write(path, tmp -> {
            if (!ImageIO.write(image, "png", tmp.toFile())) throw new IOException("no PNG writer available");
        });
    }
}
