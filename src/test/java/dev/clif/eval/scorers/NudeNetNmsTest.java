package dev.clif.eval.scorers;

import static org.junit.jupiter.api.Assertions.*;

import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

public class NudeNetNmsTest {
    /** The script's box sets, by name: boxes as x, y, w, h quadruples, then scores. */
    static Map<String, Object[]> cases() {
        Map<String, Object[]> out = new LinkedHashMap<>();
        out.put("ties", new Object[] {new double[] {10, 10, 20, 20, 10, 10, 20, 20, 12, 12, 20, 20, 100, 100, 5, 5},
                new float[] {0.5f, 0.5f, 0.5f, 0.5f}});
        out.put("empty", new Object[] {new double[] {5, 5, 0, 0, 5, 5, 0, 0, 5, 5, 0, 10, 0, 0, 10, 10},
                new float[] {0.9f, 0.8f, 0.7f, 0.6f}});
        out.put("negative", new Object[] {new double[] {-10, -10, 20, 20, -5, -5, 20, 20, -30, 0, 20, 20, -12, -10, 1, 1},
                new float[] {0.9f, 0.8f, 0.7f, 0.6f}});
        out.put("threshold", new Object[] {new double[] {0, 0, 10, 10, 0, 0, 10, 10, 50, 50, 10, 10},
                new float[] {0.25f, 0.2500001f, 0.26f}});
        out.put("boundary", new Object[] {new double[] {0, 0, 4, 5, 0, 0, 3, 3, 100, 100, 4, 5, 100, 100, 3.01, 3},
                new float[] {0.9f, 0.8f, 0.7f, 0.6f}});
        for (int seed : new int[] {3, 4}) {
            Cv2Golden.Lcg g = new Cv2Golden.Lcg(seed);
            double[] boxes = new double[4 * 120];
            float[] scores = new float[120];
            for (int i = 0; i < 120; i++) {
                for (int j = 0; j < 2; j++) boxes[4 * i + j] = (g.next() % 400 - 50) / 4.0;
                for (int j = 2; j < 4; j++) boxes[4 * i + j] = (g.next() % 200) / 4.0;
                scores[i] = (float) ((g.next() % 1000) / 1000.0);
            }
            out.put("lcg" + seed, new Object[] {boxes, scores});
        }
        return out;
    }

    @Test
    void keepsWhatOpenCvKeepsInItsOrder() {
        Map<String, Object[]> cases = cases();
        var recorded = Cv2Golden.records("nms");
        assertEquals(cases.size(), recorded.size());
        for (String[] r : recorded) {
            Object[] c = cases.get(r[1]);
            assertNotNull(c, r[1]);
            int[] kept = OpenCvNms.nmsBoxes((double[]) c[0], (float[]) c[1], 0.25f, 0.45f);
            assertArrayEquals(Cv2Golden.ints(r[2]), kept, "NMSBoxes case " + r[1]);
        }
    }

    @Test
    void equalScoresKeepInputOrderAndAnOverlapOfExactly045IsKept() {
        // Two identical boxes tie: the first one listed wins.
        assertArrayEquals(new int[] {1}, OpenCvNms.nmsBoxes(new double[] {0, 0, 10, 10, 0, 0, 10, 10}, new float[] {0.5f, 0.7f}, 0.25f, 0.45f));
        assertArrayEquals(new int[] {0}, OpenCvNms.nmsBoxes(new double[] {0, 0, 10, 10, 0, 0, 10, 10}, new float[] {0.7f, 0.7f}, 0.25f, 0.45f));
        // A 3x3 box inside a 4x5 one: IoU 9 / 20 = 0.45, not above the threshold, both stay.
        assertEquals(0.45f, OpenCvNms.overlap(new double[] {0, 0, 4, 5, 0, 0, 3, 3}, 0, 1));
        assertArrayEquals(new int[] {0, 1}, OpenCvNms.nmsBoxes(new double[] {0, 0, 4, 5, 0, 0, 3, 3}, new float[] {0.9f, 0.8f}, 0.25f, 0.45f));
    }

    @Test
    void areaIsWidthTimesHeightWithoutPlusOne() {
        // [0,0,10,10] and [5,0,10,10]: intersection 5 x 10 = 50, union 150 -> 1/3. With the +1 pixel convention it
        // would be 66 / 176 = 0.375.
        assertEquals(1f - (float) (1.0 - 50.0 / 150.0), OpenCvNms.overlap(new double[] {0, 0, 10, 10, 5, 0, 10, 10}, 0, 1));
        // Touching edges do not intersect.
        assertEquals(0f, OpenCvNms.overlap(new double[] {0, 0, 10, 10, 10, 0, 10, 10}, 0, 1));
    }

    @Test
    void scoresMustBeStrictlyAboveTheScoreThreshold() {
        assertArrayEquals(new int[] {1}, OpenCvNms.nmsBoxes(new double[] {0, 0, 1, 1, 5, 5, 1, 1}, new float[] {0.25f, 0.26f}, 0.25f, 0.45f));
    }
}
