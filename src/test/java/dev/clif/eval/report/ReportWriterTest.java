package dev.clif.eval.report;

import static org.junit.jupiter.api.Assertions.*;

import java.awt.image.BufferedImage;

import org.junit.jupiter.api.Test;

class ReportWriterTest {
    @Test
    void aFlaggedImageIsBlurredBeyondRecognitionAndFramedRed() {
        // A one-pixel checkerboard: every neighbour differs by 255 before the blur.
        BufferedImage check = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 64; y++)
            for (int x = 0; x < 64; x++) check.setRGB(x, y, (x + y) % 2 == 0 ? 0xFFFFFF : 0);
        BufferedImage b = ReportWriter.flag(check, true);
        int maxStep = 0;
        for (int y = 1; y < 63; y++)
            for (int x = 2; x < 63; x++) maxStep = Math.max(maxStep, Math.abs((b.getRGB(x, y) & 0xff) - (b.getRGB(x - 1, y) & 0xff)));
        assertTrue(maxStep < 40, "neighbours differ by " + maxStep + " after the blur");
        assertEquals(0xE02020, b.getRGB(0, 0) & 0xFFFFFF, "red frame");
        assertEquals(0xE02020, b.getRGB(63, 40) & 0xFFFFFF, "red frame");
        BufferedImage shown = ReportWriter.flag(check, false);
        assertEquals(check.getRGB(10, 10), shown.getRGB(10, 10), "--no-blur keeps the pixels");
        assertEquals(check.getRGB(11, 10), shown.getRGB(11, 10));
        assertEquals(0xE02020, shown.getRGB(0, 5) & 0xFFFFFF);
    }

    @Test
    void largeImagesAreFittedAndHtmlIsEscaped() {
        BufferedImage big = new BufferedImage(512, 384, BufferedImage.TYPE_INT_RGB);
        BufferedImage f = ReportWriter.fit(big, 256);
        assertEquals(256, f.getWidth());
        assertEquals(192, f.getHeight());
        assertSame(f, ReportWriter.fit(f, 256));
        assertEquals("a &lt;b&gt; &amp; &quot;c&quot;", ReportWriter.esc("a <b> & \"c\""));
        assertEquals("clif_v2_-x", ReportWriter.safe("clif/v2 -x"));
    }
}
