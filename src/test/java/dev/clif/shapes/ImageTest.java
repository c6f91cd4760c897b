package dev.clif.shapes;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageTest {
    @TempDir
    Path tmp;

    @Test
    void chwRoundTrip() {
        Image im = new ShapesWorld().draw(11);
        float[] chw = im.toCHW();
        assertEquals(3 * 32 * 32, chw.length);
        for (float v : chw) assertTrue(v >= -1f && v <= 1f);
        // Channel-major: pixel (x, y) channel c at c * H * W + y * W + x.
        assertEquals(im.channel(5, 7, 1) / 127.5f - 1f, chw[32 * 32 + 7 * 32 + 5], 1e-6f);
        assertEquals(im, Image.fromCHW(chw, 32, 32));
    }

    @Test
    void fromChwClampsAndRoundsLikeDiffusers() {
        float[] chw = new float[3];
        chw[0] = 5f; // clamped to 255
        chw[1] = -7f; // clamped to 0
        chw[2] = 0f; // 0.5 * 255 = 127.5, rounded half to even: 128
        Image im = Image.fromCHW(chw, 1, 1);
        assertEquals(255, im.channel(0, 0, 0));
        assertEquals(0, im.channel(0, 0, 1));
        assertEquals(128, im.channel(0, 0, 2));
        chw[0] = Float.NaN;
        assertEquals(0, Image.fromCHW(chw, 1, 1).channel(0, 0, 0));
        // Batched: the second of two images.
        float[] batch = new float[6];
        batch[3] = 1f;
        assertEquals(255, Image.fromCHW(batch, 1, 1, 1).channel(0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> Image.fromCHW(new float[5], 1, 1));
    }

    @Test
    void pngRoundTrip() throws Exception {
        Image im = new ShapesWorld(64).draw(3);
        Path f = tmp.resolve("sub/a.png");
        im.writePng(f);
        assertEquals(im, Image.readPng(f));
        im.writePng(f); // over an existing file
        assertEquals(im, Image.readPng(f));
        try (var files = Files.list(f.getParent())) {
            assertEquals(List.of(f), files.toList(), "no temporary files left");
        }
    }

    @Test
    void gridDimensions() {
        Image a = Image.blank(32, 32), b = new ShapesWorld().draw(1);
        Image g = Image.grid(List.of(List.of(a, b, a), List.of(b)), 2);
        assertEquals(3 * 32 + 4 * 2, g.width());
        assertEquals(2 * 32 + 3 * 2, g.height());
        assertEquals(Image.GRID_PAD, g.pixel(0, 0));
        assertEquals(Image.GRID_PAD, g.pixel(g.width() - 1, g.height() - 1)); // an empty cell of the short row
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++) {
                assertEquals(b.pixel(x, y), g.pixel(2 + 32 + 2 + x, 2 + y));
                assertEquals(b.pixel(x, y), g.pixel(2 + x, 2 + 32 + 2 + y));
            }
        Image single = Image.grid(List.of(List.of(b)), 0);
        assertEquals(b, single);
        assertThrows(IllegalArgumentException.class, () -> Image.grid(List.of(), 1));
    }

    @Test
    void validation() {
        assertThrows(IllegalArgumentException.class, () -> new Image(2, 2, new byte[11]));
        assertThrows(IllegalArgumentException.class, () -> new Image(0, 2, new byte[0]));
        Image im = Image.blank(3, 2);
        im.setPixel(2, 1, 0x123456);
        assertEquals(0x123456, im.pixel(2, 1));
        assertEquals(0x56, im.channel(2, 1, 2));
        assertNotEquals(im, Image.blank(3, 2));
        assertEquals(im, im.copy());
    }
}
