package dev.clif.golden;

import dev.clif.model.ClipImageProcessor;
import dev.clif.model.ClipModel;
import dev.clif.model.ClipTextEncoder;
import dev.clif.model.UNet;
import dev.clif.model.Vae;
import dev.clif.purge.DirectionalClipLoss;
import dev.clif.purge.PurgeStep;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The CLIF step ("purge_step"): text direction, both branches' intermediates, loss, dL/dE_I and the gradient
 * of every trainable parameter. The SD components come from the {@code model} folder, the loss CLIP from
 * {@code loss_model}.
 */
public final class PurgeCases implements CaseRunner {
    @Override
    public List<String> cases() {
        return List.of("purge_step");
    }

    /** tensor name -> tolerance, from the sidecar's groups (each lists its tensors). */
    private static Map<String, Tolerance> tolerances(GoldenCase c, double factor) {
        Map<String, Tolerance> out = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = c.sidecar().path("suggested_tolerance").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().has("atol")) continue;
            Tolerance t = Tolerance.from(e.getValue()).times(factor);
            for (JsonNode n : e.getValue().path("tensors")) out.put(n.asText(), t);
            if (e.getKey().equals("param_grads")) out.put("grad.*", t);
        }
        return out;
    }

    @Override
    public List<Comparison> run(GoldenCase c, Device device) {
        Map<String, Tolerance> tol = tolerances(c, device.isCuda() ? 10 : 1);
        List<Comparison> out = new ArrayList<>();
        Path sd = c.model();
        Path clipDir = c.folder("loss_model");
        try (TensorScope scope = TensorScope.open();
             UNet trainable = UNet.load(sd.resolve("unet"), device, DType.F32);
             UNet frozen = UNet.load(sd.resolve("unet"), device, DType.F32);
             Vae vae = Vae.load(sd.resolve("vae"), device, DType.F32);
             ClipModel clip = ClipModel.load(clipDir, device, DType.F32);
             ClipTextEncoder text = ClipTextEncoder.load(sd.resolve("text_encoder"), device, DType.F32)) {
            List<String> trainableNames = new ArrayList<>();
            for (String n : c.names("trainable.")) {
                String name = n.substring("trainable.".length());
                trainable.setParameter(name, c.tensor(n));
                trainable.setRequiresGrad(name, true);
                trainableNames.add(name);
            }
            Tensor promptEmbeds = text.encode(c.tensor("prompt_input_ids").to(device));
            out.add(Comparison.of("prompt_embeds", promptEmbeds, c.tensor("prompt_embeds"), tol.get("prompt_embeds")));
            float[][] src = rows(clip.textFeatures(c.tensor("text_src_input_ids").to(device), null, false));
            float[][] tgt = rows(clip.textFeatures(c.tensor("text_tgt_input_ids").to(device), null, false));
            float[] deltaT = DirectionalClipLoss.textDirection(src, tgt);
            out.add(Comparison.of("delta_T", deltaT, c.tensors().floats("delta_T"), tol.get("delta_T")));
            Tensor xt = c.tensor("x_t").to(device);
            long batch = xt.shape()[0];
            Tensor context = Tensor.cat(0, java.util.Collections.nCopies((int) batch, promptEmbeds).toArray(Tensor[]::new));
            double alpha = c.tensors().floats("alpha_prod_t")[0];
            PreprocessorStats pre = PreprocessorStats.read(clipDir);
            PurgeStep.Probe probe = new PurgeStep.Probe() {
                @Override
                public void tensor(String name, Tensor value) {
                    if (c.tensors().contains(name))
                        out.add(Comparison.of(name, value, c.tensor(name), tol.getOrDefault(name, tol.get("image_embeds_train"))));
                }

                @Override
                public boolean wantsIntermediateGradients() {
                    return true;
                }
            };
            PurgeStep.Output r = PurgeStep.run(new PurgeStep.Models(trainable, frozen, vae, clip, pre.mean, pre.std),
                    xt, c.tensor("timestep").to(device), alpha, context, deltaT, probe);
            out.add(Comparison.of("loss", new double[] {r.loss()}, new double[] {c.tensors().floats("loss")[0]}, tol.get("loss")));
            float[] cos = c.tensors().floats("cos");
            double[] cosExpected = new double[cos.length];
            for (int i = 0; i < cos.length; i++) cosExpected[i] = cos[i];
            out.add(Comparison.of("cos", r.cos(), cosExpected, tol.get("cos")));
            out.add(Comparison.of("grad_image_embeds_train", flatten(r.gradImageEmbeds()),
                    c.tensors().floats("grad_image_embeds_train"), tol.get("grad_image_embeds_train")));
            for (String name : trainableNames) {
                try (Tensor g = trainable.gradient(name)) {
                    out.add(Comparison.of("grad." + name, g, c.tensor("grad." + name), tol.get("grad.*")));
                }
            }
        }
        return out;
    }

    private record PreprocessorStats(double[] mean, double[] std) {
        static PreprocessorStats read(Path clipDir) {
            Path f = clipDir.resolve("preprocessor_config.json");
            if (!Files.exists(f)) return new PreprocessorStats(ClipImageProcessor.OPENAI_MEAN, ClipImageProcessor.OPENAI_STD);
            ClipImageProcessor p = ClipImageProcessor.read(f);
            double[] m = new double[3];
            double[] s = new double[3];
            for (int i = 0; i < 3; i++) {
                m[i] = p.mean()[i];
                s[i] = p.std()[i];
            }
            return new PreprocessorStats(m, s);
        }
    }

    private static float[][] rows(Tensor t) {
        long[] s = t.shape();
        float[] flat;
        try (Tensor cpu = t.to(Device.CPU, DType.F32)) {
            flat = cpu.toFloatArray();
        }
        float[][] out = new float[(int) s[0]][(int) s[1]];
        for (int r = 0; r < out.length; r++) System.arraycopy(flat, r * out[0].length, out[r], 0, out[0].length);
        return out;
    }

    private static float[] flatten(float[][] rows) {
        float[] out = new float[rows.length * rows[0].length];
        for (int r = 0; r < rows.length; r++) System.arraycopy(rows[r], 0, out, r * rows[0].length, rows[0].length);
        return out;
    }
}
