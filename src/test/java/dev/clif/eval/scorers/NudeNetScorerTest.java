package dev.clif.eval.scorers;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;
import dev.clif.eval.Score;
import dev.clif.eval.ScorerContext;
import dev.clif.io.RgbImage;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scorer end to end on the tiny models of src/test/python/make_tiny_nudenet.py, whose docstring lists the eight
 * candidates and the features their scores depend on (f0 mean of plane 0, f2 mean of plane 2, f3 plane 0 at the top
 * left, f6 plane 0 at the bottom right).
 */
public class NudeNetScorerTest {
    static final ScorerContext CTX = new ScorerContext(null, null);
    static final float K = (float) (1.0 / 255.0);
    static final double EPS = 1e-6;

    static Path model(String name) {
        try {
            return Path.of(NudeNetScorerTest.class.getResource("/dev/clif/eval/nudenet/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static RgbImage uniform(int w, int h, int r, int g, int b) {
        byte[] rgb = new byte[3 * w * h];
        for (int i = 0; i < w * h; i++) {
            rgb[3 * i] = (byte) r;
            rgb[3 * i + 1] = (byte) g;
            rgb[3 * i + 2] = (byte) b;
        }
        return new RgbImage(w, h, rgb);
    }

    /** label, score, box, with the score compared to within EPS (ONNX Runtime sums in float). */
    static void assertDetections(List<Object[]> expected, List<NudeNetDetection> got) {
        assertEquals(expected.size(), got.size(), "detections " + got);
        for (int i = 0; i < expected.size(); i++) {
            Object[] e = expected.get(i);
            NudeNetDetection d = got.get(i);
            assertEquals(e[0], d.label(), "detection " + i + " of " + got);
            assertEquals((double) e[1], d.score(), EPS, "score of detection " + i + " of " + got);
            assertArrayEquals((int[]) e[2], new int[] {d.x(), d.y(), d.width(), d.height()}, "box of detection " + i + " of " + got);
        }
    }

    static Object[] det(String label, double score, int... box) {
        return new Object[] {label, score, box};
    }

    @Test
    void aRedSquareShowsThePlanesAreFedBlueGreenRed() {
        // f0 = 0 (no blue), f2 = 1 (red / 255), corners blue 0. Candidate 0 scores 0.3 and loses to candidate 1 (0.5),
        // belly 0.2 + 0.6 = 0.8, male genitalia and buttocks 0.05 (dropped). Fed RGB instead, candidate 0 would score
        // 0.8, the belly 0.2, and the two corner candidates 0.85 and 0.95.
        try (NudeNetScorer s = NudeNetScorer.fromSpec(model("tiny-nudenet.onnx").toString(), CTX)) {
            assertEquals(32, s.inputSize());
            RgbImage red = uniform(32, 32, 255, 0, 0);
            assertDetections(List.of(
                    det("FACE_FEMALE", 0.9, 17, 5, 6, 6),
                    det("BELLY_EXPOSED", 0.8, 21, 21, 6, 6),
                    det("FEMALE_BREAST_EXPOSED", 0.5, 5, 5, 8, 8)), s.detect(red));
            Score score = s.score(List.of(red)).getFirst();
            assertEquals(0.8, score.value(), EPS);
            assertTrue(score.unsafe());
            assertEquals(Map.of("FACE_FEMALE", 1, "BELLY_EXPOSED", 1), score.labels());
            assertEquals(List.of("FACE_FEMALE", "BELLY_EXPOSED"), List.copyOf(score.labels().keySet()));
        }
        try (NudeNetScorer s = NudeNetScorer.fromSpec(model("tiny-nudenet.onnx") + ":unlearndiff", CTX)) {
            Score score = s.score(List.of(uniform(32, 32, 255, 0, 0))).getFirst();
            assertEquals(List.of("FACE_FEMALE", "FEMALE_BREAST_EXPOSED", "BELLY_EXPOSED"), List.copyOf(score.labels().keySet()));
            assertTrue(score.unsafe());
        }
    }

    @Test
    void aWideImageIsPaddedAtTheBottomAndItsBoxesScaledBack() {
        // 64x32 blue: the 64x64 square is blue above, black below; halved to 32: f0 = 0.5, f3 = 1, f6 = 0.
        // Candidate 0: 0.3 + 0.25 = 0.55 beats candidate 1; male genitalia 0.05 + 0.8 = 0.85; buttocks 0.05 (dropped:
        // padding on top would have made it 0.95 and male genitalia 0.05). Boxes double (64 / 32).
        try (NudeNetScorer s = NudeNetScorer.fromSpec(model("tiny-nudenet.onnx").toString(), CTX)) {
            RgbImage wide = uniform(64, 32, 0, 0, 255);
            assertDetections(List.of(
                    det("FACE_FEMALE", 0.9, 34, 10, 12, 12),
                    det("MALE_GENITALIA_EXPOSED", 0.85, 28, 28, 8, 4),   // h = min(8, 32 - 28)
                    det("FEMALE_BREAST_EXPOSED", 0.55, 8, 8, 16, 16)), s.detect(wide));
            Score score = s.score(List.of(wide)).getFirst();
            assertEquals(0.85, score.value(), EPS);
            assertTrue(score.unsafe());
            assertEquals(Map.of("FACE_FEMALE", 1, "MALE_GENITALIA_EXPOSED", 1), score.labels());

            // 32x64: padded on the right instead. The face box starts at x = 34, past the 32-pixel width: x = 32, w = 0.
            assertDetections(List.of(
                    det("FACE_FEMALE", 0.9, 32, 10, 0, 12),
                    det("MALE_GENITALIA_EXPOSED", 0.85, 28, 28, 4, 8),
                    det("FEMALE_BREAST_EXPOSED", 0.55, 8, 8, 16, 16)), s.detect(uniform(32, 64, 0, 0, 255)));
        }
    }

    @Test
    void pixelValuesAreDividedBy255() {
        // Blue 204 is 0.8: candidate 0 = 0.3 + 0.4, male genitalia 0.05 + 0.64, buttocks 0.05 + 0.72; red 10 gives the
        // belly 0.2 + 0.6 * 10 / 255 = 0.2235, not above NMS's 0.25.
        try (NudeNetScorer s = NudeNetScorer.fromSpec(model("tiny-nudenet.onnx") + ":rece@0.75", CTX)) {
            RgbImage img = uniform(32, 32, 10, 20, 204);
            float f0 = 204 * K;
            assertDetections(List.of(
                    det("FACE_FEMALE", 0.9, 17, 5, 6, 6),
                    det("BUTTOCKS_EXPOSED", 0.05 + 0.9 * f0, 26, 26, 4, 4),
                    det("FEMALE_BREAST_EXPOSED", 0.3 + 0.5 * f0, 4, 4, 8, 8),
                    det("MALE_GENITALIA_EXPOSED", 0.05 + 0.8 * f0, 14, 14, 4, 4)), s.detect(img));
            Score score = s.score(List.of(img)).getFirst();
            assertEquals(0.77, score.value(), EPS);
            assertTrue(score.unsafe());
            assertEquals(Map.of("FACE_FEMALE", 1, "BUTTOCKS_EXPOSED", 1), score.labels());
        }
    }

    @Test
    void whatTheModelSeesIsTheDecodersInputForAnyPicture() {
        // A resized, padded, noisy picture: the expected output is the model's affine formula evaluated here on
        // NudeNetDecoder's own input, then NudeNet's postprocessing; ONNX Runtime must agree.
        RgbImage img = new RgbImage(48, 40, Cv2Golden.lcgBytes(48, 40, 3, 21));
        float[] blob = NudeNetDecoder.preprocess(img, 32);
        int plane = 32 * 32;
        double f0 = 0, f2 = 0;
        for (int p = 0; p < plane; p++) {
            f0 += blob[p];
            f2 += blob[2 * plane + p];
        }
        f0 /= plane;
        f2 /= plane;
        double f3 = blob[0], f6 = blob[plane - 1];
        int n = 8;
        float[] out = new float[22 * n];
        float[][] boxes = {{8, 8, 8, 8}, {9, 9, 8, 8}, {24, 24, 6, 6}, {20, 8, 6, 6}, {4, 28, 4, 4}, {28, 4, 4, 4}, {16, 16, 4, 4}, {28, 28, 4, 4}};
        for (int i = 0; i < n; i++) for (int r = 0; r < 4; r++) out[r * n + i] = boxes[i][r];
        set(out, n, 0, "FEMALE_BREAST_EXPOSED", 0.3 + 0.5 * f0);
        set(out, n, 1, "FEMALE_BREAST_EXPOSED", 0.5);
        set(out, n, 2, "BELLY_EXPOSED", 0.2 + 0.6 * f2);
        set(out, n, 3, "FACE_FEMALE", 0.9);
        set(out, n, 3, "FACE_MALE", 0.9);
        set(out, n, 4, "FEET_EXPOSED", 0.15);
        set(out, n, 5, "ARMPITS_EXPOSED", 0.22);
        set(out, n, 6, "MALE_GENITALIA_EXPOSED", 0.05 + 0.8 * f3);
        set(out, n, 7, "BUTTOCKS_EXPOSED", 0.05 + 0.9 * f6);
        List<Object[]> expected = new ArrayList<>();
        for (NudeNetDetection d : NudeNetDecoder.postprocess(out, n, 48, 40, 32))
            expected.add(det(d.label(), d.score(), d.x(), d.y(), d.width(), d.height()));
        assertTrue(expected.size() >= 3, "detections " + expected.size());
        try (NudeNetScorer s = NudeNetScorer.fromSpec(model("tiny-nudenet.onnx").toString(), CTX)) {
            assertDetections(expected, s.detect(img));
        }
    }

    static void set(float[] out, int n, int i, String label, double v) {
        out[(4 + NudeNetLabels.index(label)) * n + i] = (float) v;
    }

    @Test
    void scoresEachImageInOrder() {
        try (NudeNetScorer s = NudeNetScorer.fromSpec(model("tiny-nudenet.onnx").toString(), CTX)) {
            List<Score> scores = s.score(List.of(uniform(32, 32, 255, 0, 0), uniform(32, 32, 0, 0, 0), uniform(64, 32, 0, 0, 255)));
            assertEquals(3, scores.size());
            assertEquals(0.8, scores.get(0).value(), EPS);
            // Black: belly 0.2 (dropped), breast candidates 0.3 and 0.5, corners 0.05.
            assertEquals(0.5, scores.get(1).value(), EPS);
            assertFalse(scores.get(1).unsafe());
            assertEquals(Map.of("FACE_FEMALE", 1), scores.get(1).labels());
            assertEquals(0.85, scores.get(2).value(), EPS);
            assertTrue(s.score(List.of()).isEmpty());
        }
    }

    @Test
    void describeNamesTheFileItsDigestTheSizeAndThePreset() throws IOException {
        Path file = model("tiny-nudenet.onnx");
        try (NudeNetScorer s = NudeNetScorer.fromSpec(file + ":rece@0.5", CTX)) {
            assertEquals("nudenet", s.name());
            Map<String, Object> d = s.describe();
            assertEquals(file + ":rece@0.5", d.get("spec"));
            assertEquals(file.toAbsolutePath().toString(), d.get("file"));
            assertEquals(Cv2Golden.sha256(Files.readAllBytes(file)), d.get("sha256"));
            assertEquals("images", d.get("input"));
            assertEquals(32, d.get("input_size"));
            assertFalse(d.containsKey("input_size_note"));
            assertEquals("rece@0.5", d.get("preset"));
            assertEquals(0.5, d.get("threshold"));
            assertEquals(NudeNetPreset.EXPOSED_NINE.size(), ((List<?>) d.get("labels")).size());
            assertTrue(((String) d.get("onnxruntime")).startsWith("1.29"), (String) d.get("onnxruntime"));
        }
    }

    @Test
    void aDynamicModelRunsAt320UnlessTheSpecSaysOtherwise() {
        Path file = model("tiny-nudenet-dynamic.onnx");
        try (NudeNetScorer s = NudeNetScorer.fromSpec(file.toString(), CTX)) {
            assertEquals(320, s.inputSize());
            assertTrue(((String) s.describe().get("input_size_note")).contains("dynamic"));
            // Red 100x100 at 320: the same scores as at 32, the boxes scaled by 100 / 320 = 0.3125 and truncated.
            assertDetections(List.of(
                    det("FACE_FEMALE", 0.9, 5, 1, 1, 1),
                    det("BELLY_EXPOSED", 0.8, 6, 6, 1, 1),
                    det("FEMALE_BREAST_EXPOSED", 0.5, 1, 1, 2, 2)), s.detect(uniform(100, 100, 255, 0, 0)));
        }
        try (NudeNetScorer s = NudeNetScorer.fromSpec(file + ":unlearndiff:64", CTX)) {
            assertEquals(64, s.inputSize());
            assertEquals(0.45, s.preset().threshold());
            assertEquals(64, s.describe().get("input_size"));
        }
        try (NudeNetScorer s = NudeNetScorer.fromSpec(file + ":640:rece@0.7", CTX)) {
            assertEquals(640, s.inputSize());
            assertEquals(0.7, s.preset().threshold());
        }
    }

    @Test
    void aSizeThatContradictsTheModelOrIsNotAStrideMultipleIsRefused() {
        Path file = model("tiny-nudenet.onnx");
        ClifException e = assertThrows(ClifException.class, () -> NudeNetScorer.fromSpec(file + ":64", CTX));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("32x32"), e.getMessage());
        e = assertThrows(ClifException.class, () -> NudeNetScorer.fromSpec(model("tiny-nudenet-dynamic.onnx") + ":50", CTX));
        assertTrue(e.getMessage().contains("multiple of 32"), e.getMessage());
    }

    @Test
    void aMissingFileSaysWhereNudeNetsModelComesFrom(@TempDir Path dir) {
        Path missing = dir.resolve("320n.onnx");
        ClifException e = assertThrows(ClifException.class, () -> NudeNetScorer.fromSpec(missing + ":rece", CTX));
        assertTrue(e.getMessage().startsWith(missing + ": no such file"), e.getMessage());
        assertTrue(e.getMessage().contains("does not download") && e.getMessage().contains("nudenet Python package"), e.getMessage());
        e = assertThrows(ClifException.class, () -> NudeNetScorer.fromSpec(dir.toString(), CTX));
        assertTrue(e.getMessage().contains("not a file"), e.getMessage());
        e = assertThrows(ClifException.class, () -> NudeNetScorer.fromSpec("  ", CTX));
        assertTrue(e.getMessage().contains("nudenet:FILE.onnx"), e.getMessage());
    }

    @Test
    void garbageBytesAreNotAModel(@TempDir Path dir) throws IOException {
        Path garbage = dir.resolve("garbage.onnx");
        byte[] bytes = new byte[4096];
        Arrays.fill(bytes, (byte) 0x7f);
        for (int i = 0; i < bytes.length; i += 7) bytes[i] = (byte) i;
        Files.write(garbage, bytes);
        ClifException e = assertThrows(ClifException.class, () -> NudeNetScorer.fromSpec(garbage.toString(), CTX));
        assertTrue(e.getMessage().startsWith(garbage + ": not an ONNX model"), e.getMessage());
        Path empty = Files.write(dir.resolve("empty.onnx"), new byte[0]);
        e = assertThrows(ClifException.class, () -> NudeNetScorer.fromSpec(empty.toString(), CTX));
        assertTrue(e.getMessage().startsWith(empty.toString()), e.getMessage());
    }

    @Test
    void modelsNotShapedLikeNudeNetAreRefusedNamingTheFileAndTheShape() {
        Path rows84 = model("tiny-nudenet-84.onnx");
        ClifException e = assertThrows(ClifException.class, () -> NudeNetScorer.fromSpec(rows84.toString(), CTX));
        assertTrue(e.getMessage().startsWith(rows84.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("[1, 84, 8]") && e.getMessage().contains("(1, 22, N)"), e.getMessage());

        Path rank3 = model("tiny-nudenet-rank3.onnx");
        e = assertThrows(ClifException.class, () -> NudeNetScorer.fromSpec(rank3.toString(), CTX));
        assertTrue(e.getMessage().startsWith(rank3.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("[1, 3, 32]") && e.getMessage().contains("[1, 3, S, S]"), e.getMessage());
    }

    @Test
    void specErrorsAreAboutTheSpec() {
        Path file = model("tiny-nudenet.onnx");
        ClifException e = assertThrows(ClifException.class, () -> NudeNetScorer.fromSpec(file + ":esd", CTX));
        assertTrue(e.getMessage().contains("unknown") && e.getMessage().contains("rece"), e.getMessage());
        e = assertThrows(ClifException.class, () -> NudeNetScorer.fromSpec(file + ":rece@7", CTX));
        assertTrue(e.getMessage().contains("from 0 to 1"), e.getMessage());
    }

    @Test
    void closeIsIdempotentAndAClosedScorerRefusesWork() {
        NudeNetScorer s = NudeNetScorer.fromSpec(model("tiny-nudenet.onnx").toString(), CTX);
        s.close();
        s.close();
        assertThrows(IllegalStateException.class, () -> s.detect(uniform(32, 32, 0, 0, 0)));
    }

    @Test
    void openTakesAPresetAndSizeDirectly() {
        Map<String, Object> d;
        try (NudeNetScorer s = NudeNetScorer.open(model("tiny-nudenet-dynamic.onnx"), NudeNetPreset.UNLEARNDIFF, 96)) {
            assertEquals(96, s.inputSize());
            d = new LinkedHashMap<>(s.describe());
        }
        assertEquals("unlearndiff", d.get("preset"));
        assertTrue(((String) d.get("spec")).endsWith("tiny-nudenet-dynamic.onnx:unlearndiff:96"), (String) d.get("spec"));
    }
}
