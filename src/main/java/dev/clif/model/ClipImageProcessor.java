package dev.clif.model;

import dev.clif.ClifException;
import dev.clif.io.ModelFolder;
import dev.clif.tensor.Tensor;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * transformers' {@code CLIPImageProcessor} (4.36) on 8-bit RGB images: resize so the shortest edge is
 * {@code shortestEdge} with Pillow's resampling (bit-exact with Pillow 9's 8-bit two-pass convolution,
 * 22-bit fixed-point coefficients), center crop, rescale by 1/255 and normalise. This is the path for
 * real images; the purge's differentiable path is {@link ClipModel#preprocess}.
 */
public record ClipImageProcessor(int shortestEdge, int cropHeight, int cropWidth, int resample, double rescaleFactor,
                                 float[] mean, float[] std, boolean doResize, boolean doCenterCrop, boolean doRescale,
                                 boolean doNormalize) {
    public static final double[] OPENAI_MEAN = {0.48145466, 0.4578275, 0.40821073};
    public static final double[] OPENAI_STD = {0.26862954, 0.26130258, 0.27577711};
    /** Pillow's resample codes. */
    public static final int NEAREST = 0, LANCZOS = 1, BILINEAR = 2, BICUBIC = 3;

    public ClipImageProcessor {
        if (mean.length != 3 || std.length != 3) throw new ClifException("CLIP image processor: image_mean and image_std need 3 values");
        if (resample != BILINEAR && resample != BICUBIC && resample != LANCZOS)
            throw new ClifException("CLIP image processor: resample " + resample + " is not supported (2 bilinear, 3 bicubic, 1 lanczos)");
        mean = mean.clone();
        std = std.clone();
    }

    /** OpenAI CLIP's preprocessing at {@code size} px (224 for ViT-L/14). */
    public static ClipImageProcessor openai(int size) {
        return new ClipImageProcessor(size, size, size, BICUBIC, 1 / 255.0, toFloats(OPENAI_MEAN), toFloats(OPENAI_STD),
                true, true, true, true);
    }

    /** Reads a preprocessor_config.json. */
    public static ClipImageProcessor read(Path file) {
        JsonNode n = ModelFolder.readJson(file);
        String where = file.toString();
        int shortest = sizeField(n.get("size"), "shortest_edge", 224, where + ": field 'size'");
        JsonNode crop = n.get("crop_size");
        int ch = sizeField(crop, "height", shortest, where + ": field 'crop_size'");
        int cw = sizeField(crop, "width", ch, where + ": field 'crop_size'");
        return new ClipImageProcessor(shortest, ch, cw, ClipTextConfig.integer(n, "resample", BICUBIC, where),
                ClipTextConfig.number(n, "rescale_factor", 1 / 255.0, where),
                floats(n.get("image_mean"), OPENAI_MEAN, where + ": field 'image_mean'"),
                floats(n.get("image_std"), OPENAI_STD, where + ": field 'image_std'"),
                ClipTextConfig.bool(n, "do_resize", true, where), ClipTextConfig.bool(n, "do_center_crop", true, where),
                ClipTextConfig.bool(n, "do_rescale", true, where), ClipTextConfig.bool(n, "do_normalize", true, where));
    }

    /** An 8-bit RGB image, row-major HWC. */
    public record Image(int height, int width, byte[] rgb) {
        public Image {
            if (height <= 0 || width <= 0 || rgb.length != height * width * 3)
                throw new IllegalArgumentException("image of " + height + "x" + width + " needs " + height * width * 3L + " bytes, got " + rgb.length);
        }

        int at(int y, int x, int c) {
            return rgb[(y * width + x) * 3 + c] & 0xff;
        }
    }

    /** transformers' get_resize_output_image_size(default_to_square=False): (height, width). */
    public int[] resizedSize(int height, int width) {
        int shortSide = Math.min(height, width), longSide = Math.max(height, width);
        int newShort = shortestEdge, newLong = (int) ((long) shortestEdge * longSide / shortSide);
        return width <= height ? new int[] {newLong, newShort} : new int[] {newShort, newLong};
    }

    public Image resize(Image img) {
        int[] hw = resizedSize(img.height(), img.width());
        return resample(img, hw[0], hw[1], resample);
    }

    /** transformers' center_crop (zero-pads when the image is smaller than the crop). */
    public Image centerCrop(Image img) {
        int h = img.height(), w = img.width();
        int top = (h - cropHeight) / 2, left = (w - cropWidth) / 2;
        if (h >= cropHeight && w >= cropWidth) {
            byte[] out = new byte[cropHeight * cropWidth * 3];
            for (int y = 0; y < cropHeight; y++)
                System.arraycopy(img.rgb(), ((y + top) * w + left) * 3, out, y * cropWidth * 3, cropWidth * 3);
            return new Image(cropHeight, cropWidth, out);
        }
        int nh = Math.max(h, cropHeight), nw = Math.max(w, cropWidth);
        int topPad = (nh - h + 1) / 2, leftPad = (nw - w + 1) / 2;
        byte[] padded = new byte[nh * nw * 3];
        for (int y = 0; y < h; y++) System.arraycopy(img.rgb(), y * w * 3, padded, ((y + topPad) * nw + leftPad) * 3, w * 3);
        top = Math.floorDiv(h - cropHeight, 2) + topPad;
        left = Math.floorDiv(w - cropWidth, 2) + leftPad;
        int y0 = Math.max(0, top), y1 = Math.min(nh, top + cropHeight), x0 = Math.max(0, left), x1 = Math.min(nw, left + cropWidth);
        byte[] out = new byte[(y1 - y0) * (x1 - x0) * 3];
        for (int y = y0; y < y1; y++) System.arraycopy(padded, (y * nw + x0) * 3, out, (y - y0) * (x1 - x0) * 3, (x1 - x0) * 3);
        return new Image(y1 - y0, x1 - x0, out);
    }

    /** Rescale and normalise (float32 arithmetic, as numpy does it), CHW. */
    public float[] toPixelValues(Image img) {
        int hw = img.height() * img.width();
        float[] out = new float[3 * hw];
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < hw; i++) {
                int v = img.rgb()[i * 3 + c] & 0xff;
                float x = doRescale ? (float) (v * rescaleFactor) : v;
                out[c * hw + i] = doNormalize ? (x - mean[c]) / std[c] : x;
            }
        return out;
    }

    /** The whole pipeline: pixel_values [n, 3, cropHeight, cropWidth] float32 on the CPU. */
    public Tensor preprocess(List<Image> images) {
        if (images.isEmpty()) throw new IllegalArgumentException("no images");
        float[] all = null;
        int h = 0, w = 0, k = 0;
        for (Image img : images) {
            Image x = doResize ? resize(img) : img;
            if (doCenterCrop) x = centerCrop(x);
            if (all == null) {
                h = x.height();
                w = x.width();
                all = new float[images.size() * 3 * h * w];
            } else if (x.height() != h || x.width() != w)
                throw new IllegalArgumentException("images end up with different sizes (" + h + "x" + w + " vs " + x.height() + "x" + x.width() + ")");
            float[] p = toPixelValues(x);
            System.arraycopy(p, 0, all, k++ * p.length, p.length);
        }
        return Tensor.of(all, images.size(), 3, h, w);
    }

    // ---- Pillow's resampling (Resample.c, 8 bits per channel) ----

    private static final int PRECISION_BITS = 32 - 8 - 2;

    private static double filter(int resample, double x) {
        x = Math.abs(x);
        switch (resample) {
            case BILINEAR:
                return x < 1.0 ? 1.0 - x : 0.0;
            case BICUBIC: {
                final double a = -0.5;
                if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
                if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
                return 0.0;
            }
            default: { // LANCZOS, a = 3
                if (x < 3.0) return sinc(x) * sinc(x / 3.0);
                return 0.0;
            }
        }
    }

    private static double sinc(double x) {
        if (x == 0.0) return 1.0;
        x = x * Math.PI;
        return Math.sin(x) / x;
    }

    private static double support(int resample) {
        return resample == BILINEAR ? 1.0 : resample == BICUBIC ? 2.0 : 3.0;
    }

    /** Coefficients of one pass: bounds[2*i] = first input index, bounds[2*i+1] = count; kk fixed-point. */
    private record Coeffs(int ksize, int[] bounds, int[] kk) {}

    private static Coeffs coeffs(int inSize, int outSize, int resample) {
        double scale = (double) inSize / outSize;
        double filterscale = Math.max(scale, 1.0);
        double support = support(resample) * filterscale;
        int ksize = (int) Math.ceil(support) * 2 + 1;
        int[] bounds = new int[outSize * 2];
        int[] kk = new int[outSize * ksize];
        double[] k = new double[ksize];
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale;
            double ww = 0.0, ss = 1.0 / filterscale;
            int xmin = (int) (center - support + 0.5);
            if (xmin < 0) xmin = 0;
            int xmax = (int) (center + support + 0.5);
            if (xmax > inSize) xmax = inSize;
            xmax -= xmin;
            Arrays.fill(k, 0.0);
            for (int x = 0; x < xmax; x++) {
                double w = filter(resample, (x + xmin - center + 0.5) * ss);
                k[x] = w;
                ww += w;
            }
            for (int x = 0; x < xmax; x++)
                if (ww != 0.0) k[x] /= ww;
            for (int x = 0; x < ksize; x++) {
                double v = k[x] * (1 << PRECISION_BITS);
                kk[xx * ksize + x] = (int) (k[x] < 0 ? -0.5 + v : 0.5 + v);
            }
            bounds[xx * 2] = xmin;
            bounds[xx * 2 + 1] = xmax;
        }
        return new Coeffs(ksize, bounds, kk);
    }

    private static int clip8(int v) {
        int x = v >> PRECISION_BITS;
        return x < 0 ? 0 : Math.min(x, 255);
    }

    /** Pillow's Image.resize((width, height), resample) for 8-bit RGB: horizontal pass, then vertical. */
    static Image resample(Image in, int outH, int outW, int resample) {
        Image cur = in;
        if (outW != in.width()) {
            Coeffs c = coeffs(in.width(), outW, resample);
            byte[] out = new byte[in.height() * outW * 3];
            for (int y = 0; y < in.height(); y++)
                for (int xx = 0; xx < outW; xx++) {
                    int xmin = c.bounds()[xx * 2], xmax = c.bounds()[xx * 2 + 1];
                    for (int ch = 0; ch < 3; ch++) {
                        int ss = 1 << (PRECISION_BITS - 1);
                        for (int x = 0; x < xmax; x++) ss += cur.at(y, x + xmin, ch) * c.kk()[xx * c.ksize() + x];
                        out[(y * outW + xx) * 3 + ch] = (byte) clip8(ss);
                    }
                }
            cur = new Image(in.height(), outW, out);
        }
        if (outH != in.height()) {
            Coeffs c = coeffs(in.height(), outH, resample);
            int w = cur.width();
            byte[] out = new byte[outH * w * 3];
            for (int yy = 0; yy < outH; yy++) {
                int ymin = c.bounds()[yy * 2], ymax = c.bounds()[yy * 2 + 1];
                for (int xx = 0; xx < w; xx++)
                    for (int ch = 0; ch < 3; ch++) {
                        int ss = 1 << (PRECISION_BITS - 1);
                        for (int y = 0; y < ymax; y++) ss += cur.at(y + ymin, xx, ch) * c.kk()[yy * c.ksize() + y];
                        out[(yy * w + xx) * 3 + ch] = (byte) clip8(ss);
                    }
            }
            cur = new Image(outH, w, out);
        }
        return cur;
    }

    private static int sizeField(JsonNode node, String key, int fallback, String where) {
        if (node == null || node.isNull()) return fallback;
        if (node.isIntegralNumber()) return node.intValue();
        if (node.isObject()) {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) return fallback;
            if (v.isIntegralNumber() && v.intValue() > 0) return v.intValue();
        }
        throw new ClifException(where + " must be a positive integer or an object with '" + key + "', got " + node);
    }

    private static float[] floats(JsonNode node, double[] fallback, String where) {
        double[] d = fallback;
        if (node != null && !node.isNull()) {
            if (!node.isArray() || node.size() != 3) throw new ClifException(where + " must be a list of 3 numbers, got " + node);
            d = new double[3];
            for (int i = 0; i < 3; i++) {
                if (!node.get(i).isNumber()) throw new ClifException(where + " must be a list of 3 numbers, got " + node);
                d[i] = node.get(i).doubleValue();
            }
        }
        return toFloats(d);
    }

    private static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    /** The normalisation constants as doubles (the float32 values), for {@link ClipModel#preprocess}. */
    public double[] meanValues() {
        double[] d = new double[3];
        for (int i = 0; i < 3; i++) d[i] = mean[i];
        return d;
    }

    public double[] stdValues() {
        double[] d = new double[3];
        for (int i = 0; i < 3; i++) d[i] = std[i];
        return d;
    }
}
