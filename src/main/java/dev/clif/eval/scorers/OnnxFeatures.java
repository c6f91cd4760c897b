package dev.clif.eval.scorers;

import dev.clif.ClifException;
import dev.clif.eval.FeatureExtractor;
import dev.clif.io.RgbImage;
import dev.clif.io.Sha256;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;

import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A feature extractor the user brings as ONNX (pytorch-fid's Inception pool3, exported): one float input
 * [N, 3, H, W] with a fixed H and W, fed RGB in [0, 1] resized to H x W bilinearly (half-pixel centres, as
 * {@code F.interpolate(mode="bilinear", align_corners=False)} in pytorch-fid); the first output, [N, D] or
 * [N, D, 1, 1], flattened per image to D features. Any normalisation the network wants belongs inside the graph
 * (pytorch-fid's Inception does its own 2x - 1).
 */
public final class OnnxFeatures implements FeatureExtractor {
    private final Path file;
    private final String sha256;
    private final String inputName;
    private final int height, width;
    private final boolean batched;
    private final OrtSession session;
    private final OrtSession.SessionOptions options;
    private boolean closed;

    private OnnxFeatures(Path file, String sha256, String inputName, int height, int width, boolean batched, OrtSession session,
                         OrtSession.SessionOptions options) {
        this.file = file;
        this.sha256 = sha256;
        this.inputName = inputName;
        this.height = height;
        this.width = width;
        this.batched = batched;
        this.session = session;
        this.options = options;
    }

    public static OnnxFeatures open(Path file) {
        if (!Files.isRegularFile(file)) throw new ClifException("--fid-features onnx=" + file + ": no such file");
        String sha = Sha256.of(file);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        OrtSession session = null;
        try {
            options.setIntraOpNumThreads(Math.max(1, Runtime.getRuntime().availableProcessors()));
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            try {
                session = env.createSession(file.toString(), options);
            } catch (OrtException e) {
                throw new ClifException(file + ": ONNX Runtime cannot load this file as a model (" + e.getMessage() + ")", e);
            }
            Map<String, NodeInfo> inputs = session.getInputInfo();
            String wanted = "; a feature extractor takes one float image batch [N, 3, H, W] with fixed H and W";
            if (inputs.size() != 1) throw new ClifException(file + ": the model has " + inputs.size() + " inputs " + inputs.keySet() + wanted);
            NodeInfo in = inputs.values().iterator().next();
            if (!(in.getInfo() instanceof TensorInfo t) || t.type != OnnxJavaType.FLOAT)
                throw new ClifException(file + ": input '" + in.getName() + "' is " + in.getInfo() + wanted);
            long[] s = t.getShape();
            if (s.length != 4 || (s[1] != 3 && s[1] != -1) || s[2] < 1 || s[3] < 1 || (s[0] != 1 && s[0] != -1))
                throw new ClifException(file + ": input '" + in.getName() + "' has shape " + Arrays.toString(s) + wanted);
            NodeInfo out = session.getOutputInfo().values().iterator().next();
            if (!(out.getInfo() instanceof TensorInfo o) || o.type != OnnxJavaType.FLOAT)
                throw new ClifException(file + ": output '" + out.getName() + "' is " + out.getInfo() + "; a feature extractor returns float [N, D]");
            return new OnnxFeatures(file.toAbsolutePath(), sha, in.getName(), (int) s[2], (int) s[3], s[0] == -1, session, options);
        } catch (OrtException e) {
            close(session, options);
            throw new ClifException(file + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            close(session, options);
            throw e;
        }
    }

    @Override
    public String name() {
        return "ONNX features, " + file.getFileName() + " (" + height + "x" + width + " input)";
    }

    @Override
    public Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("features", name());
        m.put("file", file.toString());
        m.put("sha256", sha256);
        m.put("input", inputName);
        m.put("input_size", List.of(height, width));
        m.put("processing", "RGB / 255, bilinear resize (half-pixel centres) to the input size, NCHW float32; first output flattened per image");
        m.put("onnxruntime", OrtEnvironment.getEnvironment().getVersion() + " CPU");
        return m;
    }

    @Override
    public double[][] features(List<RgbImage> images) {
        if (closed) throw new IllegalStateException("the ONNX feature extractor for " + file + " is closed");
        int per = batched ? 16 : 1;
        List<double[]> out = new ArrayList<>(images.size());
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        int plane = height * width;
        for (int start = 0; start < images.size(); start += per) {
            int n = Math.min(per, images.size() - start);
            float[] blob = new float[n * 3 * plane];
            for (int i = 0; i < n; i++) resize(images.get(start + i), height, width, blob, i * 3 * plane);
            try (OnnxTensor input = OnnxTensor.createTensor(env, FloatBuffer.wrap(blob), new long[] {n, 3, height, width});
                 OrtSession.Result result = session.run(Map.of(inputName, input))) {
                if (!(result.get(0) instanceof OnnxTensor t) || t.getInfo().type != OnnxJavaType.FLOAT)
                    throw new ClifException(file + ": the model returned " + result.get(0).getInfo() + " rather than float features");
                long[] shape = t.getInfo().getShape();
                FloatBuffer fb = t.getFloatBuffer();
                float[] raw = new float[fb.remaining()];
                fb.get(raw);
                if (shape.length < 2 || shape[0] != n || raw.length % n != 0)
                    throw new ClifException(file + ": the model returned shape " + Arrays.toString(shape) + " for " + n + " images; wanted [N, D]");
                int d = raw.length / n;
                for (int i = 0; i < n; i++) {
                    double[] v = new double[d];
                    for (int k = 0; k < d; k++) v[k] = raw[i * d + k];
                    out.add(v);
                }
            } catch (OrtException e) {
                throw new ClifException(file + ": ONNX Runtime failed (" + e.getMessage() + ")", e);
            }
        }
        return out.toArray(new double[0][]);
    }

    /**
     * RGB / 255 resized to h x w into {@code dst} at {@code offset} as three planes: bilinear with half-pixel centres
     * (source coordinate (x + 0.5) * W / w - 0.5, clamped at the edges), as torch's align_corners=False.
     */
    static void resize(RgbImage im, int h, int w, float[] dst, int offset) {
        int sw = im.width(), sh = im.height();
        double fx = (double) sw / w, fy = (double) sh / h;
        byte[] rgb = im.rgb();
        for (int y = 0; y < h; y++) {
            double syf = Math.max(0, (y + 0.5) * fy - 0.5);
            int y0 = Math.min((int) syf, sh - 1), y1 = Math.min(y0 + 1, sh - 1);
            double ly = syf - y0;
            for (int x = 0; x < w; x++) {
                double sxf = Math.max(0, (x + 0.5) * fx - 0.5);
                int x0 = Math.min((int) sxf, sw - 1), x1 = Math.min(x0 + 1, sw - 1);
                double lx = sxf - x0;
                for (int c = 0; c < 3; c++) {
                    double a = rgb[(y0 * sw + x0) * 3 + c] & 0xff, b = rgb[(y0 * sw + x1) * 3 + c] & 0xff;
                    double cc = rgb[(y1 * sw + x0) * 3 + c] & 0xff, d = rgb[(y1 * sw + x1) * 3 + c] & 0xff;
                    double v = (a * (1 - lx) + b * lx) * (1 - ly) + (cc * (1 - lx) + d * lx) * ly;
                    dst[offset + c * h * w + y * w + x] = (float) (v / 255.0);
                }
            }
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            close(session, options);
        }
    }

    private static void close(OrtSession session, OrtSession.SessionOptions options) {
        try {
            if (session != null) session.close();
        } catch (OrtException e) {
            throw new ClifException("closing the ONNX feature session: " + e.getMessage(), e);
        } finally {
            options.close();
        }
    }
}
