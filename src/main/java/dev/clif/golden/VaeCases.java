package dev.clif.golden;

import dev.clif.io.ModelFolder;
import dev.clif.io.SafetensorsFile;
import dev.clif.model.Vae;
import dev.clif.model.VaeConfig;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * "vae" (AutoencoderKL decode and encode of tiny-sd/vae) and "vae_legacy_attention_keys" (the mid-block
 * attention tensors under their legacy names load into the new-named parameters, bit for bit).
 */
public final class VaeCases implements CaseRunner {
    @Override
    public List<String> cases() {
        return List.of("vae", "vae_legacy_attention_keys");
    }

    @Override
    public List<Comparison> run(GoldenCase c, Device device) {
        return switch (c.name()) {
            case "vae" -> vae(c, device);
            case "vae_legacy_attention_keys" -> legacy(c, device);
            default -> throw new IllegalArgumentException("VaeCases cannot run case '" + c.name() + "'");
        };
    }

    private static List<Comparison> vae(GoldenCase c, Device device) {
        Tolerance tol = c.tolerance();
        if (!device.isCpu()) tol = tol.times(10);
        List<Comparison> out = new ArrayList<>();
        try (TensorScope scope = TensorScope.open(); Vae vae = Vae.load(c.model(), device, DType.F32)) {
            double sf = vae.scalingFactor();
            out.add(Comparison.of("scaling_factor", new double[] {sf}, new double[] {c.sidecar().path("scaling_factor").asDouble()},
                    Tolerance.EXACT));
            Tensor latents = c.tensor("decode.diffusion_latents").to(device);
            out.add(Comparison.of("decode.input_z", latents.scale(1 / sf), c.tensor("decode.input_z"), tol));
            Tensor z = c.tensor("decode.input_z").to(device);
            Tensor image = vae.decode(z, false);
            out.add(Comparison.of("decode.image", image, c.tensor("decode.image"), tol));
            float[] img = image.to(Device.CPU, DType.F32).toFloatArray();
            float[] post = new float[img.length];
            for (int i = 0; i < img.length; i++) post[i] = Math.min(1f, Math.max(0f, img[i] / 2 + 0.5f));
            out.add(Comparison.of("decode.image_postprocessed", post, c.tensors().floats("decode.image_postprocessed"), tol));

            try (Vae.Posterior p = vae.encode(c.tensor("encode.image").to(device), false)) {
                out.add(Comparison.of("encode.mean", p.mean(), c.tensor("encode.mean"), tol));
                out.add(Comparison.of("encode.logvar", p.logvar(), c.tensor("encode.logvar"), tol));
                float[] logvar = p.logvar().to(Device.CPU, DType.F32).toFloatArray();
                float[] std = new float[logvar.length];
                for (int i = 0; i < std.length; i++) std[i] = (float) Math.exp(0.5f * logvar[i]);
                out.add(Comparison.of("encode.std", std, c.tensors().floats("encode.std"), tol));
                float[] mean = p.mean().to(Device.CPU, DType.F32).toFloatArray();
                float[] scaled = new float[mean.length];
                for (int i = 0; i < mean.length; i++) scaled[i] = (float) (mean[i] * sf);
                out.add(Comparison.of("encode.mean_scaled", scaled, c.tensors().floats("encode.mean_scaled"), tol));
            }
        }
        return out;
    }

    /**
     * Loads tiny-sd/vae with its mid-block attention tensors taken from the case file under their legacy
     * names (the new-named ones in the folder are skipped) and checks every renamed parameter exactly.
     */
    private static List<Comparison> legacy(GoldenCase c, Device device) {
        Map<String, String> legacyToNew = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = c.sidecar().path("legacy_to_new").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            legacyToNew.put(e.getKey(), e.getValue().asText());
        }
        if (legacyToNew.isEmpty()) throw new IllegalArgumentException(c.sidecarPath() + ": no legacy_to_new map");
        List<Comparison> out = new ArrayList<>();
        List<Path> weights = ModelFolder.weightFiles(c.model());
        List<SafetensorsFile> files = new ArrayList<>();
        try (TensorScope scope = TensorScope.open();
             Vae vae = Vae.create(VaeConfig.read(c.model().resolve("config.json")))) {
            for (Path p : weights) files.add(SafetensorsFile.open(p));
            List<SafetensorsFile> sources = new ArrayList<>(files);
            sources.add(c.tensors());
            vae.loadWeights(sources, Set.copyOf(legacyToNew.values()));
            for (Map.Entry<String, String> e : legacyToNew.entrySet()) {
                String renamed = Vae.modernName(e.getKey());
                boolean same = renamed.equals(e.getValue());
                out.add(new Comparison("rename " + e.getKey(), same, same ? 0 : Double.NaN, Tolerance.EXACT,
                        same ? "" : "renamed to '" + renamed + "', expected '" + e.getValue() + "'"));
                out.add(Comparison.of(e.getValue(), vae.parameter(e.getValue()), c.tensor(e.getKey()), Tolerance.EXACT));
            }
        } finally {
            for (SafetensorsFile f : files) f.close();
        }
        return out;
    }
}
