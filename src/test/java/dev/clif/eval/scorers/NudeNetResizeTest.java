package dev.clif.eval.scorers;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;

import org.junit.jupiter.api.Test;

public class NudeNetResizeTest {
    @Test
    void matchesOpenCvBitForBitOnEveryRecordedCase() {
        List<String[]> cases = Cv2Golden.records("resize");
        assertTrue(cases.size() >= 12, cases.size() + " resize cases");
        for (String[] r : cases) {
            int sw = Integer.parseInt(r[1]), sh = Integer.parseInt(r[2]), c = Integer.parseInt(r[3]);
            int dw = Integer.parseInt(r[4]), dh = Integer.parseInt(r[5]);
            byte[] src = Cv2Golden.picture(r[6], sw, sh, c, 7);
            byte[] out = OpenCvLinearResize.resize(src, sw, sh, c, dw, dh);
            assertEquals(dw * dh * c, out.length);
            assertEquals(r[7], Cv2Golden.sha256(out), "cv2.resize " + sw + "x" + sh + "x" + c + " -> " + dw + "x" + dh + " (" + r[6] + ")");
        }
    }

    @Test
    void halvingAveragesEachTwoByTwoBlockRoundingHalfUp() {
        // 4x2 grey -> 2x1: centres at source 0.5 and 2.5, weights 1024/1024 both ways: (a + b + c + d + 2) >> 2.
        byte[] src = {10, 11, (byte) 200, (byte) 201, 13, 12, 0, 1};
        byte[] out = OpenCvLinearResize.resize(src, 4, 2, 1, 2, 1);
        assertArrayEquals(new byte[] {(byte) ((10 + 11 + 13 + 12 + 2) >> 2), (byte) ((200 + 201 + 0 + 1 + 2) >> 2)}, out);
        assertEquals(12, out[0]); // 46 / 4 = 11.5 rounds up
        assertEquals(101, out[1] & 0xFF);
    }

    @Test
    void upscalingClampsAtTheEdgesAndInterpolatesBetweenCentres() {
        // 2x1 -> 4x1: fx = (dx + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25. The outer two take the edge pixel; the
        // inner two weigh (1536, 512) and (512, 1536) out of 2048: 100 * 512 / 2048 = 25, 100 * 1536 / 2048 = 75.
        assertArrayEquals(new byte[] {0, 25, 75, 100}, OpenCvLinearResize.resize(new byte[] {0, 100}, 2, 1, 1, 4, 1));
    }

    @Test
    void theVerticalPassTruncatesAsOpenCvDoesInsteadOfRounding() {
        // A 1x2 column (17, 51) stretched to 5 rows. Row 3: fy = (float) (3.5 * 0.4 - 0.5) = 0.9f, weights
        // rint(0.1f * 2048) = 205 and rint(0.9f * 2048) = 1843 on h0 = 17 * 2048, h1 = 51 * 2048.
        // OpenCV: ((34816 >> 4) * 205 >> 16) + ((104448 >> 4) * 1843 >> 16) = 6 + 183, (189 + 2) >> 2 = 47,
        // where rounding (34816 * 205 + 104448 * 1843 + 2^21) >> 22 would give 48. cv2.resize gives 47.
        byte[] out = OpenCvLinearResize.resize(new byte[] {17, 51}, 1, 2, 1, 1, 5);
        assertArrayEquals(new byte[] {17, 20, 34, 47, 51}, out);
    }

    @Test
    void unchangedSizeIsACopy() {
        byte[] src = Cv2Golden.pattern(5, 4, 3);
        byte[] out = OpenCvLinearResize.resize(src, 5, 4, 3, 5, 4);
        assertArrayEquals(src, out);
        assertNotSame(src, out);
    }

    @Test
    void refusesSizesThatDoNotMatchTheBuffer() {
        assertThrows(IllegalArgumentException.class, () -> OpenCvLinearResize.resize(new byte[10], 2, 2, 3, 4, 4));
        assertThrows(IllegalArgumentException.class, () -> OpenCvLinearResize.resize(new byte[12], 2, 2, 3, 0, 4));
    }
}
