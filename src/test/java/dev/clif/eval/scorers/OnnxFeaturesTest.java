package dev.clif.eval.scorers;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;
import dev.clif.eval.FeatureExtractor;
import dev.clif.eval.ScorerContext;
import dev.clif.io.RgbImage;
import dev.clif.tensor.Device;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A user-supplied ONNX feature extractor (src/test/python/make_tiny_features.py: plane means and plane 0's top-left pixel). */
class OnnxFeaturesTest {
    static Path model() {
        try {
            return Path.of(OnnxFeaturesTest.class.getResource("/dev/clif/eval/features/tiny-features.onnx").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void imagesAreScaledToTheInputAndTheOutputIsOneVectorPerImage() {
        // 4x4 images need no resize: features are the plane means / 255 and R at (0, 0) / 255.
        byte[] a = new byte[4 * 4 * 3];
        for (int i = 0; i < 16; i++) {
            a[3 * i] = (byte) (i * 10);
            a[3 * i + 1] = (byte) 255;
            a[3 * i + 2] = 0;
        }
        // An 8x8 image of one colour resizes to the same colour.
        byte[] b = new byte[8 * 8 * 3];
        for (int i = 0; i < 64; i++) {
            b[3 * i] = 51;
            b[3 * i + 1] = 102;
            b[3 * i + 2] = (byte) 204;
        }
        List<RgbImage> images = new ArrayList<>();
        for (int k = 0; k < 20; k++) images.add(k % 2 == 0 ? new RgbImage(4, 4, a) : new RgbImage(8, 8, b)); // more than one batch of 16
        try (FeatureExtractor f = FeatureExtractor.create("onnx=" + model(), new ScorerContext(null, Device.CPU))) {
            assertTrue(f.name().contains("tiny-features.onnx (4x4 input)"), f.name());
            assertEquals(64, ((String) f.describe().get("sha256")).length());
            double[][] v = f.features(images);
            assertEquals(20, v.length);
            assertArrayEquals(new double[] {75 / 255.0, 1, 0, 0}, v[0], 1e-6);
            assertArrayEquals(new double[] {0.2, 0.4, 0.8, 0.2}, v[1], 1e-6);
            assertArrayEquals(v[0], v[18], 0);
        }
    }

    @Test
    void bilinearResizeUsesHalfPixelCentres() {
        // 2x1 -> 4x1: source x = (x + 0.5) / 2 - 0.5 = -0.25 (clamped 0), 0.25, 0.75, 1.25 (clamped to the last pixel).
        byte[] rgb = {0, 0, 0, (byte) 200, 0, 0};
        float[] out = new float[3 * 4];
        OnnxFeatures.resize(new RgbImage(2, 1, rgb), 1, 4, out, 0);
        assertArrayEquals(new float[] {0, 50 / 255f, 150 / 255f, 200 / 255f}, java.util.Arrays.copyOf(out, 4), 1e-6f);
    }

    @Test
    void aMissingOrBrokenFileIsRefusedClearly(@TempDir Path tmp) throws Exception {
        ScorerContext ctx = new ScorerContext(null, Device.CPU);
        ClifException e = assertThrows(ClifException.class, () -> FeatureExtractor.create("onnx=" + tmp.resolve("inception.onnx"), ctx));
        assertTrue(e.getMessage().contains("inception.onnx: no such file"), e.getMessage());
        Path junk = Files.writeString(tmp.resolve("junk.onnx"), "not a model");
        e = assertThrows(ClifException.class, () -> FeatureExtractor.create("onnx=" + junk, ctx));
        assertTrue(e.getMessage().contains("cannot load this file as a model"), e.getMessage());
        e = assertThrows(ClifException.class, () -> FeatureExtractor.create("inception", ctx));
        assertTrue(e.getMessage().contains("unknown features 'inception'"), e.getMessage());
        e = assertThrows(ClifException.class, () -> FeatureExtractor.create("clip", ctx));
        assertTrue(e.getMessage().contains("give --clip"), e.getMessage());
    }
}
