package dev.clif.eval.scorers;

import dev.clif.io.RgbImage;

import java.util.ArrayList;
import java.util.List;

/**
 * NudeNet 3.4's pre- and postprocessing around the detector, without the model: {@code _read_image} and
 * {@code _postprocess} of {@code nudenet/nudenet.py} in the {@code nudenet} 3.4 package (PyPI 3.4.2 and later;
 * notAI-tech/NudeNet's v3 line, the version whose {@code NudeDetector} takes {@code inference_resolution}, read from
 * copies of that file such as GlitchVector/NudeNet at 003d87a69520, whose two functions are 3.4's). What each step
 * does there, and so here:
 *
 * <p><b>Input</b> (for an image decoded to 8-bit RGB):
 * <ol>
 *   <li>{@code cv2.imread} gives BGR; {@code cvtColor(COLOR_RGBA2BGR)} swaps the first and third channel of a
 *       3-channel image (back to RGB); {@code blobFromImage(swapRB=True)} swaps them again. The planes the model sees
 *       are therefore <b>B, G, R</b>.</li>
 *   <li>{@code copyMakeBorder(0, max - h, 0, max - w, BORDER_CONSTANT)}: padded on the <b>right and bottom</b> to a
 *       {@code max(w, h)} square with <b>0</b> (black).</li>
 *   <li>The square is resized to {@code size x size} by {@code cv2.resize(..., INTER_LINEAR)} inside
 *       {@code blobFromImage} ({@link OpenCvLinearResize}, bit-exact), on the 8-bit pixels.</li>
 *   <li>Converted to float and multiplied by {@code (float) (1 / 255.0)} ({@code scalefactor}; mean 0, no crop):
 *       {@code v * 0.003921569f} in float32, as OpenCV's scale does (not {@code v / 255f}, which differs in the last
 *       bit for some v).</li>
 * </ol>
 *
 * <p><b>Output</b> {@code (1, 4 + 18, N)}: column {@code i} is a candidate {@code (cx, cy, w, h, 18 class scores)} in
 * input pixels.
 * <ol>
 *   <li>A candidate is kept if its best class score (the first best, as {@code np.argmax}) is {@code >= 0.2}.</li>
 *   <li>Its box goes back to the image: {@code x = cx - w / 2}, {@code y = cy - h / 2}, then {@code x}, {@code y},
 *       {@code w}, {@code h} are each multiplied by {@code max(width, height)} and divided by {@code size} (the
 *       padding is right/bottom, so nothing is subtracted); {@code x} is clipped to {@code [0, width]}, {@code y} to
 *       {@code [0, height]}, then {@code w = min(w, width - x)}, {@code h = min(h, height - y)}. This arithmetic is
 *       float32, as NumPy 2 does it on the model's float32 values (NudeNet 3.4.3 requires NumPy 2). Under NumPy 1
 *       the same lines promote to float64, which moves a truncated coordinate by one only when the float32 result
 *       falls within one float32 step of an integer, and can flip an NMS decision only for an overlap within about
 *       1e-7 of 0.45.</li>
 *   <li>{@code cv2.dnn.NMSBoxes(boxes, scores, 0.25, 0.45)} on those float boxes ({@link OpenCvNms}): scores must be
 *       above 0.25, so the 0.2 filter above only matters for what NMS sees; class is ignored (a box suppresses an
 *       overlapping box of another class).</li>
 *   <li>Each kept box is returned as {@code [int(x), int(y), int(w), int(h)]} (truncation) with its class and score,
 *       in NMS order (highest score first).</li>
 * </ol>
 */
public final class NudeNetDecoder {
    /** Rows of the model's output: 4 box values, then one score per label. */
    public static final int ROWS = 4 + NudeNetLabels.COUNT;
    public static final float CANDIDATE_SCORE = 0.2f;
    public static final float NMS_SCORE = 0.25f;
    public static final float NMS_OVERLAP = 0.45f;
    /** OpenCV's {@code scalefactor} 1/255.0 as the float its scale step multiplies by. */
    static final float SCALE = (float) (1.0 / 255.0);

    private NudeNetDecoder() {}

    /** The model input for {@code image}: {@code (1, 3, size, size)} floats, planes B, G, R, in [0, 1]. */
    public static float[] preprocess(RgbImage image, int size) {
        int w = image.width(), h = image.height(), side = Math.max(w, h);
        byte[] square;
        if (w == h) {
            square = image.rgb();
        } else {
            square = new byte[3 * side * side];
            for (int y = 0; y < h; y++) System.arraycopy(image.rgb(), 3 * y * w, square, 3 * y * side, 3 * w);
        }
        byte[] resized = OpenCvLinearResize.resize(square, side, side, 3, size, size);
        int plane = size * size;
        float[] blob = new float[3 * plane];
        for (int p = 0; p < plane; p++) {
            blob[p] = (resized[3 * p + 2] & 0xFF) * SCALE;
            blob[plane + p] = (resized[3 * p + 1] & 0xFF) * SCALE;
            blob[2 * plane + p] = (resized[3 * p] & 0xFF) * SCALE;
        }
        return blob;
    }

    /**
     * The detections for an {@code imageWidth x imageHeight} image from the model's output {@code (1, 22, candidates)}
     * laid out row-major ({@code output[row * candidates + i]}) for an input of {@code size x size}.
     */
    public static List<NudeNetDetection> postprocess(float[] output, int candidates, int imageWidth, int imageHeight, int size) {
        if (output.length != (long) ROWS * candidates)
            throw new IllegalArgumentException(output.length + " output values is not " + ROWS + " x " + candidates);
        float side = Math.max(imageWidth, imageHeight), input = size, width = imageWidth, height = imageHeight;
        List<Integer> classes = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        List<float[]> boxes = new ArrayList<>();
        for (int i = 0; i < candidates; i++) {
            int best = -1;
            float bestScore = Float.NEGATIVE_INFINITY;
            boolean nan = false;
            for (int c = 0; c < NudeNetLabels.COUNT; c++) {
                float s = output[(4 + c) * candidates + i];
                if (Float.isNaN(s)) nan = true;
                if (s > bestScore) {
                    bestScore = s;
                    best = c;
                }
            }
            // np.amax is NaN when any score is, and NaN >= 0.2 is false.
            if (nan || !(bestScore >= CANDIDATE_SCORE)) continue;
            float cx = output[i], cy = output[candidates + i], w = output[2 * candidates + i], h = output[3 * candidates + i];
            float x = cx - w / 2f, y = cy - h / 2f;
            x = x * side / input;
            y = y * side / input;
            w = w * side / input;
            h = h * side / input;
            // Python's min(v, limit) returns limit only when limit < v, max(0, v) returns v only when v > 0.
            x = width < x ? width : x;
            x = x > 0 ? x : 0;
            y = height < y ? height : y;
            y = y > 0 ? y : 0;
            float roomX = width - x, roomY = height - y;
            w = roomX < w ? roomX : w;
            h = roomY < h ? roomY : h;
            classes.add(best);
            scores.add(bestScore);
            boxes.add(new float[] {x, y, w, h});
        }
        double[] flat = new double[4 * boxes.size()];
        float[] scoreArray = new float[scores.size()];
        for (int k = 0; k < boxes.size(); k++) {
            for (int j = 0; j < 4; j++) flat[4 * k + j] = boxes.get(k)[j];
            scoreArray[k] = scores.get(k);
        }
        List<NudeNetDetection> out = new ArrayList<>();
        for (int k : OpenCvNms.nmsBoxes(flat, scoreArray, NMS_SCORE, NMS_OVERLAP)) {
            float[] b = boxes.get(k);
            out.add(new NudeNetDetection(NudeNetLabels.ALL.get(classes.get(k)), scoreArray[k],
                    (int) b[0], (int) b[1], (int) b[2], (int) b[3]));
        }
        return out;
    }
}
