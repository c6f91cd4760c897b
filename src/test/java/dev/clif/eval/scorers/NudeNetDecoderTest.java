package dev.clif.eval.scorers;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.io.RgbImage;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

public class NudeNetDecoderTest {
    static final int N = 6;

    /** A (22, N) output with every score 0; fill columns with {@link #candidate}. */
    static float[] empty() {
        return new float[NudeNetDecoder.ROWS * N];
    }

    static void candidate(float[] out, int i, float cx, float cy, float w, float h, String label, float score) {
        out[i] = cx;
        out[N + i] = cy;
        out[2 * N + i] = w;
        out[3 * N + i] = h;
        out[(4 + NudeNetLabels.index(label)) * N + i] = score;
    }

    @Test
    void blobMatchesOpenCvsBlobFromImageOnThePaddedPicture() {
        List<String[]> cases = Cv2Golden.records("blob");
        assertTrue(cases.size() >= 7, cases.size() + " blob cases");
        for (String[] r : cases) {
            int w = Integer.parseInt(r[1]), h = Integer.parseInt(r[2]), size = Integer.parseInt(r[3]);
            RgbImage image = new RgbImage(w, h, Cv2Golden.picture(r[4], w, h, 3, 11));
            float[] blob = NudeNetDecoder.preprocess(image, size);
            assertEquals(3 * size * size, blob.length);
            assertEquals(r[5], Cv2Golden.sha256(blob), "NudeNet 3.4 input of a " + w + "x" + h + " " + r[4] + " picture at " + size);
        }
    }

    @Test
    void planesAreBlueGreenRedPaddedRightAndBottomWithBlackAndScaledBy255() {
        // 2 wide, 1 high, input 2: the square is 2x2 with a black second row, no resize.
        RgbImage image = new RgbImage(2, 1, new byte[] {(byte) 255, 10, 20, 30, 40, (byte) 200});
        float[] blob = NudeNetDecoder.preprocess(image, 2);
        float k = (float) (1.0 / 255.0);
        float[] expected = {
                20 * k, 200 * k, 0, 0, // B plane: pixel (0,0), (1,0), then the padded row
                10 * k, 40 * k, 0, 0,  // G
                255 * k, 30 * k, 0, 0, // R
        };
        assertArrayEquals(expected, blob);
        assertEquals(1f, blob[8]);
        // OpenCV scales by the float nearest 1/255, which is not always v / 255f.
        int differs = 0;
        for (int v = 0; v < 256; v++) if (v * k != v / 255f) differs++;
        assertTrue(differs > 0);

        // 1 wide, 2 high: padding goes right.
        float[] tall = NudeNetDecoder.preprocess(new RgbImage(1, 2, new byte[] {1, 2, 3, 4, 5, 6}), 2);
        assertArrayEquals(new float[] {3 * k, 0, 6 * k, 0, 2 * k, 0, 5 * k, 0, 1 * k, 0, 4 * k, 0}, tall);
    }

    @Test
    void postprocessMatchesNudeNetOnRecordedCandidateTables() {
        int[][] cases = {{300, 5, 320, 320, 320}, {300, 9, 512, 384, 320}, {200, 13, 300, 700, 320}};
        for (int[] c : cases) {
            List<String> expected = Cv2Golden.postprocessRows(c[0], c[1], c[2], c[3], c[4]);
            assertTrue(expected.size() > 20, expected.size() + " detections");
            assertTrue(expected.size() < c[0], "NMS suppressed nothing in case " + c[1]);
            List<String> got = new ArrayList<>();
            for (NudeNetDetection d : NudeNetDecoder.postprocess(Cv2Golden.candidates(c[0], c[1]), c[0], c[2], c[3], c[4]))
                got.add(String.format("%d %08x %d %d %d %d", NudeNetLabels.index(d.label()), Float.floatToRawIntBits(d.score()),
                        d.x(), d.y(), d.width(), d.height()));
            assertEquals(expected, got, "candidates seed " + c[1] + " on a " + c[2] + "x" + c[3] + " image");
        }
    }

    @Test
    void boxesGoBackToTheImageScaledByTheSquareSideAndClipped() {
        // 640x480 image, input 320: the padded square is 640, so every coordinate doubles.
        float[] out = empty();
        candidate(out, 0, 100, 50, 40, 20, "BELLY_EXPOSED", 0.9f);     // plain
        candidate(out, 1, 310, 100, 40, 20, "FEET_EXPOSED", 0.8f);     // past the right edge: w shrinks to fit
        candidate(out, 2, 5, 200, 20, 20, "FACE_MALE", 0.7f);          // left of 0: x clips, w does not shrink
        candidate(out, 3, 100, 250, 40, 20, "ANUS_EXPOSED", 0.6f);     // in the bottom padding: y = 480, h = 0
        candidate(out, 4, 200.3f, 150.7f, 11.1f, 9.9f, "FACE_FEMALE", 0.5f); // fractions truncate
        List<NudeNetDetection> d = NudeNetDecoder.postprocess(out, N, 640, 480, 320);
        assertEquals(List.of(
                new NudeNetDetection("BELLY_EXPOSED", 0.9f, 160, 80, 80, 40),
                new NudeNetDetection("FEET_EXPOSED", 0.8f, 580, 180, 60, 40),
                new NudeNetDetection("FACE_MALE", 0.7f, 0, 380, 40, 40),
                new NudeNetDetection("ANUS_EXPOSED", 0.6f, 160, 480, 80, 0),
                // x = (200.3 - 5.55) * 2 = 389.5, y = (150.7 - 4.95) * 2 = 291.5, w = 22.2, h = 19.8
                new NudeNetDetection("FACE_FEMALE", 0.5f, 389, 291, 22, 19)), d);
    }

    @Test
    void overlappingBoxesAreSuppressedWhateverTheirClass() {
        float[] out = empty();
        candidate(out, 0, 50, 50, 20, 20, "FEMALE_BREAST_EXPOSED", 0.7f);
        candidate(out, 1, 52, 50, 20, 20, "FEMALE_BREAST_EXPOSED", 0.9f); // IoU 360 / 440 with box 0: suppresses it
        candidate(out, 2, 51, 51, 20, 20, "FEMALE_BREAST_COVERED", 0.8f); // another class, still suppressed by box 1
        candidate(out, 3, 70, 50, 20, 20, "FEMALE_BREAST_EXPOSED", 0.6f); // IoU 2/38 with box 1: kept
        List<NudeNetDetection> d = NudeNetDecoder.postprocess(out, N, 320, 320, 320);
        assertEquals(List.of(
                new NudeNetDetection("FEMALE_BREAST_EXPOSED", 0.9f, 42, 40, 20, 20),
                new NudeNetDetection("FEMALE_BREAST_EXPOSED", 0.6f, 60, 40, 20, 20)), d);
    }

    @Test
    void candidatesBelowTheThresholdsAreDroppedAndTheFirstBestClassWins() {
        float[] out = empty();
        candidate(out, 0, 20, 20, 10, 10, "BUTTOCKS_EXPOSED", 0.19f);  // below 0.2: never a candidate
        candidate(out, 1, 80, 80, 10, 10, "BUTTOCKS_EXPOSED", 0.22f);  // a candidate, but NMS wants > 0.25
        candidate(out, 2, 150, 150, 10, 10, "BUTTOCKS_EXPOSED", 0.25f); // not above 0.25 either
        candidate(out, 3, 200, 200, 10, 10, "ARMPITS_EXPOSED", 0.5f);  // ARMPITS_EXPOSED (11) and FACE_MALE (12) tie
        out[(4 + NudeNetLabels.index("FACE_MALE")) * N + 3] = 0.5f;
        candidate(out, 4, 250, 250, 10, 10, "FEET_COVERED", 0.26f);
        List<NudeNetDetection> d = NudeNetDecoder.postprocess(out, N, 320, 320, 320);
        assertEquals(List.of(
                new NudeNetDetection("ARMPITS_EXPOSED", 0.5f, 195, 195, 10, 10),
                new NudeNetDetection("FEET_COVERED", 0.26f, 245, 245, 10, 10)), d);
    }

    @Test
    void refusesAnOutputOfTheWrongLength() {
        assertThrows(IllegalArgumentException.class, () -> NudeNetDecoder.postprocess(new float[22 * 5 + 1], 5, 10, 10, 320));
    }
}
