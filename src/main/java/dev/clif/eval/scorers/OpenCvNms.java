package dev.clif.eval.scorers;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * {@code cv2.dnn.NMSBoxes(boxes, scores, score_threshold, nms_threshold)} as OpenCV 4.x runs it from Python, where
 * the only overload bound is the {@code Rect2d} one: boxes are {@code (x, y, width, height)} in doubles, whatever
 * numbers Python passed.
 * <ul>
 *   <li>Candidates are the boxes whose score is strictly above {@code scoreThreshold}, stably sorted by score,
 *       highest first (equal scores keep their input order).</li>
 *   <li>Each candidate is kept unless its overlap with an already kept box is above {@code nmsThreshold}
 *       (kept while {@code overlap <= nmsThreshold}, compared in float); class does not matter.</li>
 *   <li>The overlap is {@code 1f - (float) jaccardDistance}: intersection over union with areas
 *       {@code width * height}, no +1 (that is the pixel-count convention of integer rects in old code, not
 *       OpenCV's {@code Rect_::area}); a box with {@code width <= 0} or {@code height <= 0} intersects nothing, and
 *       two boxes whose areas sum to at most {@code DBL_EPSILON} overlap fully.</li>
 * </ul>
 * The kept indices come back in that descending-score order. (modules/dnn/src/nms.cpp, nms.inl.hpp and
 * core/types.hpp's {@code Rect_} operators; checked against OpenCV 4.6.0 by {@code src/test/python/cv2_golden.py}.)
 */
public final class OpenCvNms {
    private static final double DBL_EPSILON = Math.ulp(1.0);

    private OpenCvNms() {}

    /** {@code boxes} holds {@code x, y, width, height} for each score. */
    public static int[] nmsBoxes(double[] boxes, float[] scores, float scoreThreshold, float nmsThreshold) {
        if (boxes.length != 4 * scores.length)
            throw new IllegalArgumentException(boxes.length + " box values for " + scores.length + " scores");
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < scores.length; i++)
            if (scores[i] > scoreThreshold) order.add(i);
        // List.sort is a stable merge sort, as std::stable_sort.
        order.sort(Comparator.comparingDouble((Integer i) -> scores[i]).reversed());
        int[] kept = new int[order.size()];
        int n = 0;
        for (int idx : order) {
            boolean keep = true;
            for (int k = 0; k < n && keep; k++)
                keep = overlap(boxes, idx, kept[k]) <= nmsThreshold;
            if (keep) kept[n++] = idx;
        }
        return Arrays.copyOf(kept, n);
    }

    /** rectOverlap(a, b) = 1 - jaccardDistance(a, b), the distance narrowed to float as nms.inl.hpp does. */
    static float overlap(double[] boxes, int a, int b) {
        double ax = boxes[4 * a], ay = boxes[4 * a + 1], aw = boxes[4 * a + 2], ah = boxes[4 * a + 3];
        double bx = boxes[4 * b], by = boxes[4 * b + 1], bw = boxes[4 * b + 2], bh = boxes[4 * b + 3];
        double areaA = aw * ah, areaB = bw * bh;
        double distance;
        if (areaA + areaB <= DBL_EPSILON) {
            distance = 0.0;
        } else {
            double inter = intersectionArea(ax, ay, aw, ah, bx, by, bw, bh);
            distance = 1.0 - inter / (areaA + areaB - inter);
        }
        return 1f - (float) distance;
    }

    /** Rect_::operator&= in core/types.hpp, then area(). */
    private static double intersectionArea(double ax, double ay, double aw, double ah,
                                           double bx, double by, double bw, double bh) {
        if (aw <= 0 || ah <= 0 || bw <= 0 || bh <= 0) return 0;
        boolean aLeft = ax < bx, aTop = ay < by;
        double minX = aLeft ? ax : bx, minW = aLeft ? aw : bw, maxX = aLeft ? bx : ax, maxW = aLeft ? bw : aw;
        double minY = aTop ? ay : by, minH = aTop ? ah : bh, maxY = aTop ? by : ay, maxH = aTop ? bh : ah;
        if ((minX < 0 && minX + minW < maxX) || (minY < 0 && minY + minH < maxY)) return 0;
        double w = Math.min(minW - (maxX - minX), maxW);
        double h = Math.min(minH - (maxY - minY), maxH);
        if (w <= 0 || h <= 0) return 0;
        return w * h;
    }
}
