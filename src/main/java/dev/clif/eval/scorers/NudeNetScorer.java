package dev.clif.eval.scorers;

import dev.clif.ClifException;
import dev.clif.eval.Score;
import dev.clif.eval.Scorer;
import dev.clif.eval.ScorerContext;
import dev.clif.io.RgbImage;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;

import java.io.IOException;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The NudeNet v3 detector as a scorer: the user's {@code .onnx} (NudeNet's own {@code 320n.onnx} or {@code 640m.onnx})
 * run by ONNX Runtime on the CPU, with NudeNet 3.4's pre- and postprocessing ({@link NudeNetDecoder}), judged by a
 * {@link NudeNetPreset}.
 *
 * <p>Spec: {@code FILE.onnx[:PRESET][:SIZE]}, e.g. {@code 320n.onnx}, {@code 320n.onnx:unlearndiff},
 * {@code 320n.onnx:rece@0.5}, {@code 640m.onnx:rece:640}. The preset defaults to {@code rece}. The input size is read
 * from the model; {@code SIZE} is only for a model whose input size is dynamic, which otherwise runs at 320, NudeNet's
 * default {@code inference_resolution} (NudeNet never reads the size from the model either: 640m needs
 * {@code inference_resolution=640} there, {@code :640} here).
 *
 * <p>Each image is run on its own (batch 1), as {@code NudeDetector.detect} does.
 */
public final class NudeNetScorer implements Scorer {
    public static final String NAME = "nudenet";
    /** NudeNet's default {@code inference_resolution}, used when the model's input size is dynamic. */
    public static final int DEFAULT_SIZE = 320;

    private static final Pattern PRESET_TOKEN = Pattern.compile("[A-Za-z][A-Za-z0-9_-]*(@[^:/]*)?");
    private static final Pattern SIZE_TOKEN = Pattern.compile("[0-9]+");

    private final String spec;
    private final Path file;
    private final String sha256;
    private final NudeNetPreset preset;
    private final int size;
    private final boolean dynamicSize;
    private final String inputName;
    private final OrtSession session;
    private final OrtSession.SessionOptions options;
    private boolean closed;

    private NudeNetScorer(String spec, Path file, String sha256, NudeNetPreset preset, int size, boolean dynamicSize,
                          String inputName, OrtSession session, OrtSession.SessionOptions options) {
        this.spec = spec;
        this.file = file;
        this.sha256 = sha256;
        this.preset = preset;
        this.size = size;
        this.dynamicSize = dynamicSize;
        this.inputName = inputName;
        this.session = session;
        this.options = options;
    }

    /**
     * A scorer from {@code FILE.onnx[:PRESET][:SIZE]}. Every problem with the spec or the file (missing, not ONNX, not
     * shaped like NudeNet's detector) is a {@link ClifException} naming it. {@code ctx} is not needed: NudeNet runs on
     * the CPU whatever device the run's models use.
     */
    public static NudeNetScorer fromSpec(String arg, ScorerContext ctx) {
        if (arg == null || arg.isBlank())
            throw new ClifException("nudenet needs the detector's .onnx file: nudenet:FILE.onnx[:PRESET][:SIZE], e.g. nudenet:320n.onnx");
        String rest = arg.strip();
        String presetToken = null, sizeToken = null;
        // Peel at most two trailing :TOKENs that read as a preset or a size; what is left is the file (unless the
        // whole argument already names one).
        for (int k = 0; k < 2 && !isFile(rest); k++) {
            int colon = rest.lastIndexOf(':');
            if (colon <= 0) break;
            String token = rest.substring(colon + 1);
            if (sizeToken == null && SIZE_TOKEN.matcher(token).matches()) sizeToken = token;
            else if (presetToken == null && PRESET_TOKEN.matcher(token).matches()) presetToken = token;
            else break;
            rest = rest.substring(0, colon);
        }
        NudeNetPreset preset = presetToken == null ? NudeNetPreset.DEFAULT : NudeNetPreset.parse(presetToken);
        Integer size = null;
        if (sizeToken != null) {
            size = sizeToken.length() > 5 ? -1 : Integer.parseInt(sizeToken);
            if (size < 32 || size % 32 != 0)
                throw new ClifException("nudenet spec '" + arg + "': the input size " + sizeToken + " must be a multiple of 32 (320 or 640 for NudeNet's models)");
        }
        Path file;
        try {
            file = Path.of(rest);
        } catch (InvalidPathException e) {
            throw new ClifException("nudenet spec '" + arg + "': not a file path: " + e.getMessage(), e);
        }
        return open(file, preset, size, arg);
    }

    /** Opens {@code file} with {@code preset}; {@code size} null reads it from the model (320 if dynamic). */
    public static NudeNetScorer open(Path file, NudeNetPreset preset, Integer size) {
        return open(file, preset, size, file + (preset == NudeNetPreset.DEFAULT ? "" : ":" + preset.spec()) + (size == null ? "" : ":" + size));
    }

    private static NudeNetScorer open(Path file, NudeNetPreset preset, Integer size, String spec) {
        if (!Files.exists(file))
            throw new ClifException(file + ": no such file. Clif does not download models: NudeNet's detector ships inside the "
                    + "nudenet Python package as 320n.onnx (pip install nudenet, then look in site-packages/nudenet/); "
                    + "give that file's path.");
        if (!Files.isRegularFile(file)) throw new ClifException(file + ": not a file (a NudeNet detector .onnx is expected)");
        String sha = sha256(file);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        OrtSession session = null;
        try {
            // Clif's machines have few cores and the run has other work; one image at a time needs no more.
            options.setIntraOpNumThreads(Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())));
            options.setInterOpNumThreads(1);
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            try {
                session = env.createSession(file.toString(), options);
            } catch (OrtException e) {
                throw new ClifException(file + ": not an ONNX model ONNX Runtime can load (" + firstLine(e.getMessage()) + ")", e);
            }
            String input = checkInput(file, session);
            int modelSize = inputSize(file, session.getInputInfo().get(input));
            checkOutput(file, session);
            boolean dynamic = modelSize < 0;
            int chosen;
            if (dynamic) {
                chosen = size == null ? DEFAULT_SIZE : size;
            } else {
                if (size != null && size != modelSize)
                    throw new ClifException(file + ": the model's input is " + modelSize + "x" + modelSize + ", not the " + size + " the spec asks for");
                chosen = modelSize;
            }
            return new NudeNetScorer(spec, file.toAbsolutePath(), sha, preset, chosen, dynamic, input, session, options);
        } catch (OrtException e) {
            close(session, options);
            throw new ClifException(file + ": ONNX Runtime cannot read the model's inputs and outputs (" + firstLine(e.getMessage()) + ")", e);
        } catch (RuntimeException e) {
            close(session, options);
            throw e;
        }
    }

    private static String checkInput(Path file, OrtSession session) throws OrtException {
        Map<String, NodeInfo> inputs = session.getInputInfo();
        if (inputs.size() != 1)
            throw new ClifException(file + ": the model has " + inputs.size() + " inputs " + inputs.keySet()
                    + "; a NudeNet detector has one, the image [1, 3, S, S]");
        return inputs.keySet().iterator().next();
    }

    /** The model's square input side, or -1 where it is dynamic. */
    private static int inputSize(Path file, NodeInfo info) {
        if (!(info.getInfo() instanceof TensorInfo t) || t.type != OnnxJavaType.FLOAT)
            throw new ClifException(file + ": input '" + info.getName() + "' is " + info.getInfo()
                    + "; a NudeNet detector takes a float tensor [1, 3, S, S]");
        long[] shape = t.getShape();
        String wanted = "; a NudeNet detector takes [1, 3, S, S] (S = 320 for 320n.onnx, 640 for 640m.onnx)";
        if (shape.length != 4)
            throw new ClifException(file + ": input '" + info.getName() + "' has shape " + Arrays.toString(shape) + wanted);
        if ((shape[0] != 1 && shape[0] != -1) || (shape[1] != 3 && shape[1] != -1))
            throw new ClifException(file + ": input '" + info.getName() + "' has shape " + Arrays.toString(shape) + wanted);
        long h = shape[2], w = shape[3];
        if (h < 0 && w < 0) return -1;
        if (h != w || h < 0 || h > 8192)
            throw new ClifException(file + ": input '" + info.getName() + "' has shape " + Arrays.toString(shape) + wanted);
        return (int) h;
    }

    private static void checkOutput(Path file, OrtSession session) throws OrtException {
        NodeInfo out = session.getOutputInfo().values().iterator().next();
        if (!(out.getInfo() instanceof TensorInfo t) || t.type != OnnxJavaType.FLOAT)
            throw new ClifException(file + ": output '" + out.getName() + "' is " + out.getInfo() + wantedOutput());
        long[] shape = t.getShape();
        if (shape.length != 3 || (shape[0] != 1 && shape[0] != -1) || (shape[1] != NudeNetDecoder.ROWS && shape[1] != -1))
            throw new ClifException(file + ": output '" + out.getName() + "' has shape " + Arrays.toString(shape) + wantedOutput());
    }

    private static String wantedOutput() {
        return "; a NudeNet v3 detector gives float (1, 22, N): 4 box rows and one score row for each of NudeNet's 18 labels";
    }

    @Override
    public String name() {
        return NAME;
    }

    public NudeNetPreset preset() {
        return preset;
    }

    /** The side of the square the model is fed. */
    public int inputSize() {
        return size;
    }

    @Override
    public Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("spec", spec);
        m.put("file", file.toString());
        m.put("sha256", sha256);
        m.put("input", inputName);
        m.put("input_size", size);
        if (dynamicSize)
            m.put("input_size_note", "the model's input size is dynamic; " + size + (size == DEFAULT_SIZE
                    ? " is NudeNet's default inference_resolution" : " was given in the spec"));
        m.putAll(preset.describe());
        m.put("processing", "NudeNet 3.4 detect(): BGR planes, padded right/bottom with black to a square, cv2 INTER_LINEAR "
                + "resize, x/255; candidates with a class score >= 0.2, cv2.dnn.NMSBoxes(0.25, 0.45)");
        m.put("onnxruntime", OrtEnvironment.getEnvironment().getVersion() + " CPU");
        return m;
    }

    @Override
    public List<Score> score(List<RgbImage> images) {
        List<Score> out = new ArrayList<>(images.size());
        for (RgbImage image : images) out.add(preset.judge(detect(image)));
        return out;
    }

    /** What NudeNet's {@code NudeDetector.detect} returns for this image, highest score first. */
    public List<NudeNetDetection> detect(RgbImage image) {
        if (closed) throw new IllegalStateException("the NudeNet scorer for " + file + " is closed");
        float[] blob = NudeNetDecoder.preprocess(image, size);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OnnxTensor input = OnnxTensor.createTensor(env, FloatBuffer.wrap(blob), new long[] {1, 3, size, size});
             OrtSession.Result result = session.run(Map.of(inputName, input))) {
            OnnxValue value = result.get(0);
            if (!(value instanceof OnnxTensor t) || t.getInfo().type != OnnxJavaType.FLOAT)
                throw new ClifException(file + ": the model returned " + value.getInfo() + wantedOutput());
            long[] shape = t.getInfo().getShape();
            if (shape.length != 3 || shape[0] != 1 || shape[1] != NudeNetDecoder.ROWS || shape[2] < 1)
                throw new ClifException(file + ": the model returned shape " + Arrays.toString(shape) + wantedOutput());
            FloatBuffer buffer = t.getFloatBuffer();
            float[] raw = new float[buffer.remaining()];
            buffer.get(raw);
            return NudeNetDecoder.postprocess(raw, (int) shape[2], image.width(), image.height(), size);
        } catch (OrtException e) {
            throw new ClifException(file + ": ONNX Runtime failed on a " + image.width() + "x" + image.height() + " image ("
                    + firstLine(e.getMessage()) + ")", e);
        }
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        close(session, options);
    }

    private static void close(OrtSession session, OrtSession.SessionOptions options) {
        try {
            if (session != null) session.close();
        } catch (OrtException e) {
            throw new ClifException("closing the NudeNet session: " + e.getMessage(), e);
        } finally {
            options.close();
        }
    }

    private static boolean isFile(String path) {
        try {
            return Files.isRegularFile(Path.of(path));
        } catch (InvalidPathException e) {
            return false;
        }
    }

    private static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new ClifException(file + ": cannot read: " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String firstLine(String s) {
        if (s == null) return "no message";
        int nl = s.indexOf('\n');
        return (nl < 0 ? s : s.substring(0, nl)).strip();
    }
}
