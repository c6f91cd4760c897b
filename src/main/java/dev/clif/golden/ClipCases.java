package dev.clif.golden;

import dev.clif.model.ClipImageProcessor;
import dev.clif.model.ClipModel;
import dev.clif.model.ClipTextEncoder;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * "text_encoder" (CLIPTextModel of tiny-sd: last_hidden_state, penultimate, pooled, with and without the
 * attention mask, every hidden state) and "clip_model" (tiny-clip CLIPModel: features, embeddings, logits,
 * the vision tower, and CLIPImageProcessor's uint8 preprocessing).
 */
public final class ClipCases implements CaseRunner {
    @Override
    public List<String> cases() {
        return List.of("text_encoder", "clip_model");
    }

    @Override
    public List<Comparison> run(GoldenCase c, Device device) {
        return switch (c.name()) {
            case "text_encoder" -> textEncoder(c, device);
            case "clip_model" -> clipModel(c, device);
            default -> throw new IllegalArgumentException("ClipCases cannot run case '" + c.name() + "'");
        };
    }

    private static Tolerance onDevice(Tolerance t, Device device) {
        return device.isCpu() ? t : t.times(10);
    }

    private static Tensor input(GoldenCase c, String name, Device device) {
        try (Tensor t = c.tensor(name)) {
            return t.to(device);
        }
    }

    private static List<Comparison> textEncoder(GoldenCase c, Device device) {
        Tolerance tol = onDevice(c.tolerance(), device);
        List<Comparison> out = new ArrayList<>();
        try (TensorScope scope = TensorScope.open(); ClipTextEncoder enc = ClipTextEncoder.load(c.model(), device, DType.F32)) {
            Tensor ids = input(c, "input_ids", device);
            Tensor mask = input(c, "attention_mask", device);
            try (ClipTextEncoder.Output o = enc.forward(ids, null, 0, false)) {
                out.add(Comparison.of("last_hidden_state", o.lastHiddenState(), c.tensor("last_hidden_state"), tol));
                out.add(Comparison.of("pooler_output", o.pooled(), c.tensor("pooler_output"), tol));
            }
            out.add(Comparison.of("penultimate", enc.encode(ids, 1), c.tensor("penultimate"), tol));
            try (ClipTextEncoder.Output o = enc.forward(ids, mask, 0, false)) {
                out.add(Comparison.of("last_hidden_state_masked", o.lastHiddenState(), c.tensor("last_hidden_state_masked"), tol));
            }
            try (ClipTextEncoder.Output o = enc.forward(ids, mask, 1, false)) {
                out.add(Comparison.of("penultimate_masked", o.lastHiddenState(), c.tensor("penultimate_masked"), tol));
            }
            for (int i = 0; c.tensors().contains("hidden_states." + i); i++)
                out.add(Comparison.of("hidden_states." + i, enc.hiddenState(ids, null, i, false), c.tensor("hidden_states." + i), tol));
        }
        return out;
    }

    private static List<Comparison> clipModel(GoldenCase c, Device device) {
        Tolerance tol = onDevice(c.tolerance("features_and_logits"), device);
        List<Comparison> out = new ArrayList<>();
        try (TensorScope scope = TensorScope.open(); ClipModel clip = ClipModel.load(c.model(), device, DType.F32)) {
            Tensor pixels = input(c, "pixel_values", device);
            Tensor ids = input(c, "input_ids", device);
            Tensor mask = input(c, "attention_mask", device);
            out.add(Comparison.of("image_features", clip.imageFeatures(pixels, false), c.tensor("image_features"), tol));
            out.add(Comparison.of("text_features", clip.textFeatures(ids, mask, false), c.tensor("text_features"), tol));
            try (ClipModel.Output o = clip.forward(pixels, ids, mask, false)) {
                out.add(Comparison.of("image_embeds", o.imageEmbeds(), c.tensor("image_embeds"), tol));
                out.add(Comparison.of("text_embeds", o.textEmbeds(), c.tensor("text_embeds"), tol));
                out.add(Comparison.of("logits_per_image", o.logitsPerImage(), c.tensor("logits_per_image"), tol));
                out.add(Comparison.of("logits_per_text", o.logitsPerText(), c.tensor("logits_per_text"), tol));
            }
            out.add(Comparison.of("logit_scale", clip.parameter("logit_scale"), c.tensor("logit_scale"), Tolerance.EXACT));
            try (ClipModel.VisionOutput v = clip.vision(pixels, false)) {
                out.add(Comparison.of("vision.last_hidden_state", v.lastHiddenState(), c.tensor("vision.last_hidden_state"), tol));
                out.add(Comparison.of("vision.pooler_output", v.pooled(), c.tensor("vision.pooler_output"), tol));
            }

            // CLIPImageProcessor on raw uint8 images: Pillow-exact resize and crop, then rescale + normalise.
            Path config = c.model().resolve("preprocessor_config.json");
            ClipImageProcessor proc = Files.exists(config) ? ClipImageProcessor.read(config) : ClipImageProcessor.openai(32);
            List<ClipImageProcessor.Image> raw = new ArrayList<>();
            for (String k : List.of("a", "b")) {
                String p = "preprocess.image_" + k + "_";
                ClipImageProcessor.Image img = image(c, p + "uint8_hwc");
                raw.add(img);
                ClipImageProcessor.Image resized = proc.resize(img);
                out.add(exactBytes(p + "resized_uint8_hwc", resized, c));
                out.add(exactBytes(p + "cropped_uint8_hwc", proc.centerCrop(resized), c));
            }
            out.add(Comparison.of("preprocess.pixel_values", proc.preprocess(raw), c.tensor("preprocess.pixel_values"),
                    c.tolerance("preprocess.pixel_values")));
        }
        return out;
    }

    private static ClipImageProcessor.Image image(GoldenCase c, String name) {
        long[] s = c.tensors().info(name).shape();
        try (Tensor t = c.tensor(name)) {
            return new ClipImageProcessor.Image((int) s[0], (int) s[1], t.toByteArray());
        }
    }

    private static Comparison exactBytes(String name, ClipImageProcessor.Image actual, GoldenCase c) {
        long[] s = c.tensors().info(name).shape();
        long[] expected;
        try (Tensor t = c.tensor(name)) {
            expected = longs(t.toByteArray());
        }
        long[] got = longs(actual.rgb());
        if (actual.height() != s[0] || actual.width() != s[1])
            return new Comparison(name, false, Double.POSITIVE_INFINITY, Tolerance.EXACT,
                    "size " + actual.height() + "x" + actual.width() + " != expected " + s[0] + "x" + s[1]);
        Comparison exact = Comparison.exact(name, got, expected);
        double max = 0;
        for (int i = 0; i < got.length; i++) max = Math.max(max, Math.abs(got[i] - expected[i]));
        return new Comparison(name, exact.pass(), max, Tolerance.EXACT, exact.detail());
    }

    private static long[] longs(byte[] b) {
        long[] l = new long[b.length];
        for (int i = 0; i < b.length; i++) l[i] = b[i] & 0xff;
        return l;
    }
}
