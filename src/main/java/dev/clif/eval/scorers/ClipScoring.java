package dev.clif.eval.scorers;

import dev.clif.ClifException;
import dev.clif.io.ModelFolder;
import dev.clif.io.RgbImage;
import dev.clif.model.ClipConfig;
import dev.clif.model.ClipImageProcessor;
import dev.clif.model.ClipModel;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;
import dev.clif.text.ClipTokenizer;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** What the CLIP-based scorers share: loading a CLIP folder, unit image embeddings in batches, hashes, softmax. */
final class ClipScoring {
    /** Images per forward pass: bounds the activation memory of ViT-L/14 at 224 px (about 1 GB per 16 on CPU). */
    static final int BATCH = 16;

    private ClipScoring() {}

    static void requireFolder(Path dir, String scorer) {
        if (!Files.isDirectory(dir)) throw new ClifException(scorer + ": CLIP folder " + dir + " does not exist or is not a folder");
        if (!Files.isRegularFile(dir.resolve("config.json")))
            throw new ClifException(scorer + ": " + dir + " is not a CLIP folder (no config.json; a transformers CLIPModel folder, e.g. openai/clip-vit-large-patch14)");
    }

    /**
     * The folder's {@code preprocessor_config.json}. Required rather than defaulted: the mean, std and size decide
     * every score, and a folder without one is better refused than silently scored with guessed settings.
     */
    static ClipImageProcessor imageProcessor(Path dir, ClipConfig config, String scorer) {
        Path file = dir.resolve("preprocessor_config.json");
        if (!Files.isRegularFile(file))
            throw new ClifException(scorer + ": " + dir + " has no preprocessor_config.json (transformers' CLIPModel folders ship one: "
                    + "it says how images are resized and normalised)");
        ClipImageProcessor p = ClipImageProcessor.read(file);
        int size = config.vision().imageSize();
        // Caught here, not as a shape error at the first image.
        if (!p.doCenterCrop() || p.cropHeight() != size || p.cropWidth() != size)
            throw new ClifException(scorer + ": " + file + " does not center-crop to " + size + "x" + size
                    + ", the image_size of the CLIP in " + dir.resolve("config.json"));
        return p;
    }

    /** The CLIP in float32 on {@code device}, the CPU when null (scores are compared across runs: no half precision). */
    static ClipModel load(Path dir, Device device) {
        return ClipModel.load(dir, device == null ? Device.CPU : device, DType.F32);
    }

    /** Path.of, with a bad name (a NUL byte) reported as the user's mistake rather than a crash. */
    static Path path(String s, String scorer) {
        try {
            return Path.of(s);
        } catch (InvalidPathException e) {
            throw new ClifException(scorer + ": '" + s + "' is not a usable path: " + e.getMessage());
        }
    }

    /**
     * get_image_features of each image, divided by its norm, as CLIPModel.forward does: [images][projection].
     * Runs {@link #BATCH} images per forward pass.
     */
    static double[][] unitImageEmbeddings(ClipModel model, ClipImageProcessor processor, List<RgbImage> images, String scorer) {
        double[][] f = imageFeatures(model, processor, images);
        for (int i = 0; i < f.length; i++) f[i] = unit(f[i], scorer + ": the CLIP image embedding of image " + i);
        return f;
    }

    /** get_image_features of each image (projected, not normalised): [images][projection], {@link #BATCH} per pass. */
    static double[][] imageFeatures(ClipModel model, ClipImageProcessor processor, List<RgbImage> images) {
        int dim = model.config().projectionDim();
        double[][] out = new double[images.size()][];
        for (int start = 0; start < images.size(); start += BATCH) {
            int end = Math.min(images.size(), start + BATCH);
            List<ClipImageProcessor.Image> batch = new ArrayList<>(end - start);
            for (RgbImage im : images.subList(start, end)) batch.add(new ClipImageProcessor.Image(im.height(), im.width(), im.rgb()));
            float[] features;
            try (TensorScope scope = TensorScope.open()) {
                Tensor pixels = processor.preprocess(batch).to(model.device());
                features = model.imageFeatures(pixels, false).to(Device.CPU, DType.F32).toFloatArray();
            }
            for (int i = 0; i < end - start; i++) {
                double[] v = new double[dim];
                for (int k = 0; k < dim; k++) v[k] = features[i * dim + k];
                out[start + i] = v;
            }
        }
        return out;
    }

    /** Token ids and attention mask of texts padded to the longest: [rows][length], row-major. */
    record TokenBatch(long[] ids, long[] mask, int rows, int length) {}

    /**
     * The texts tokenized as CLIPProcessor(padding=True, truncation=True) does: each row begin, tokens, end (cut to the
     * model's context keeping the end token), then the pad id up to the longest row; mask 1 on the real tokens.
     */
    static TokenBatch tokenizePadded(ClipModel model, ClipTokenizer tokenizer, List<String> texts) {
        int maxLen = Math.min(tokenizer.maxLength(), model.config().text().maxPositionEmbeddings());
        List<int[]> rows = new ArrayList<>();
        int longest = 0;
        for (String t : texts) {
            int[] ids = tokenizer.encode(t);
            if (ids.length > maxLen) { // truncation=True: keep the begin token, the first tokens, the end token
                int[] cut = Arrays.copyOf(ids, maxLen);
                cut[maxLen - 1] = ids[ids.length - 1];
                ids = cut;
            }
            rows.add(ids);
            longest = Math.max(longest, ids.length);
        }
        long[] ids = new long[texts.size() * longest], mask = new long[ids.length];
        for (int r = 0; r < rows.size(); r++)
            for (int k = 0; k < longest; k++) {
                int[] row = rows.get(r);
                ids[r * longest + k] = k < row.length ? row[k] : tokenizer.padId();
                mask[r * longest + k] = k < row.length ? 1 : 0;
            }
        return new TokenBatch(ids, mask, texts.size(), longest);
    }

    /** get_text_features(input_ids, attention_mask) of a padded batch (projected, not normalised): [rows][projection]. */
    static double[][] textFeatures(ClipModel model, TokenBatch batch) {
        int dim = model.config().projectionDim();
        float[] f;
        try (TensorScope scope = TensorScope.open()) {
            Tensor idsT = Tensor.of(batch.ids(), batch.rows(), batch.length()).to(model.device());
            Tensor maskT = Tensor.of(batch.mask(), batch.rows(), batch.length()).to(model.device());
            f = model.textFeatures(idsT, maskT, false).to(Device.CPU, DType.F32).toFloatArray();
        }
        double[][] out = new double[batch.rows()][];
        for (int r = 0; r < out.length; r++) {
            double[] v = new double[dim];
            for (int k = 0; k < dim; k++) v[k] = f[r * dim + k];
            out[r] = v;
        }
        return out;
    }

    /** v / |v|; {@code what} names v in the error for a zero or non-finite vector. */
    static double[] unit(double[] v, String what) {
        double ss = 0;
        for (double x : v) ss += x * x;
        double norm = Math.sqrt(ss);
        if (!Double.isFinite(norm)) throw new ClifException(what + " holds NaN or infinite values");
        if (norm == 0) throw new ClifException(what + " is all zeros: it has no direction to compare");
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i] / norm;
        return out;
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    /** softmax(x), shifted by the max so large logits (100 * cos) do not overflow. */
    static double[] softmax(double[] x) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : x) max = Math.max(max, v);
        double sum = 0;
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) sum += out[i] = Math.exp(x[i] - max);
        for (int i = 0; i < x.length; i++) out[i] /= sum;
        return out;
    }

    /** SHA-256 over the CLIP folder's safetensors weights (the shards in index order when sharded). */
    static String weightsSha256(Path dir) {
        List<Path> files = ModelFolder.weightFiles(dir);
        if (files.isEmpty()) throw new ClifException(dir + ": no *.safetensors weights in this CLIP folder");
        return dev.clif.io.Sha256.of(files);
    }
}
