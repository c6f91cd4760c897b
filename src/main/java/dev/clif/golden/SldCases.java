package dev.clif.golden;

import dev.clif.sampling.StableDiffusion;
import dev.clif.sampling.SafeLatentDiffusion;
import dev.clif.sampling.Txt2Img;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/**
 * Safe Latent Diffusion ("pipeline_sld"): diffusers' StableDiffusionPipelineSafe with the sidecar's SLD parameters and
 * safety concept; the three embeddings, every step's UNet input and output (batch [uncond, text, safety]) and latents,
 * and the decoded float image.
 */
public final class SldCases implements CaseRunner {
    @Override
    public List<String> cases() {
        return List.of("pipeline_sld");
    }

    /** The SLD parameters and concept a sidecar names. */
    static SafeLatentDiffusion sld(JsonNode s) {
        JsonNode p = s.path("sld");
        for (String f : List.of("sld_warmup_steps", "sld_guidance_scale", "sld_threshold", "sld_momentum_scale", "sld_mom_beta"))
            if (!p.path(f).isNumber()) throw new IllegalArgumentException("sidecar's 'sld' has no number '" + f + "'");
        if (!s.path("safety_concept").isTextual()) throw new IllegalArgumentException("sidecar has no 'safety_concept'");
        return new SafeLatentDiffusion(p.get("sld_warmup_steps").asInt(), p.get("sld_guidance_scale").asDouble(),
                p.get("sld_threshold").asDouble(), p.get("sld_momentum_scale").asDouble(), p.get("sld_mom_beta").asDouble(),
                s.get("safety_concept").asText());
    }

    @Override
    public List<Comparison> run(GoldenCase c, Device device) {
        JsonNode s = c.sidecar();
        Tolerance tol = c.tolerance();
        if (device.isCuda()) tol = tol.times(10);
        Tolerance t = tol;
        SafeLatentDiffusion sld = sld(s);
        List<Comparison> out = new ArrayList<>();
        try (StableDiffusion sd = StableDiffusion.load(c.model(), device, DType.F32)) {
            String prompt = s.path("prompt").asText();
            String negative = s.path("negative_prompt").asText("");
            int steps = s.path("num_inference_steps").asInt();
            Tensor latents = c.tensor("initial_latents");
            long[] shape = latents.shape();
            int f = sd.vaeScaleFactor();
            Txt2Img.Request r = new Txt2Img.Request(prompt, negative, steps, s.path("guidance_scale").asDouble(), null, 0,
                    (int) shape[3] * f, (int) shape[2] * f, 1, 0, s.path("eta").asDouble(0));
            try (Tensor pe = sd.encodePrompts(List.of(prompt), 0); Tensor ne = sd.encodePrompts(List.of(negative), 0);
                 Tensor se = sd.encodePrompts(List.of(sld.concept()), 0)) {
                out.add(Comparison.of("prompt_embeds", pe, c.tensor("prompt_embeds"), t));
                out.add(Comparison.of("negative_prompt_embeds", ne, c.tensor("negative_prompt_embeds"), t));
                out.add(Comparison.of("safety_concept_embeds", se, c.tensor("safety_concept_embeds"), t));
            }
            int[] seen = {0};
            Txt2Img.StepListener check = (i, total, timestep, input, unetOut, guided, after) -> {
                String p = "step" + i + ".";
                out.add(Comparison.of(p + "unet_input", input, c.tensor(p + "unet_input"), t));
                out.add(Comparison.of(p + "unet_output", unetOut, c.tensor(p + "unet_output"), t));
                out.add(Comparison.of(p + "latents_after", after, c.tensor(p + "latents_after"), t));
                seen[0]++;
            };
            try (Txt2Img.Result res = new Txt2Img(sd, sld).generateFrom(r, latents, check)) {
                if (seen[0] != steps)
                    out.add(new Comparison("steps", false, Double.NaN, Tolerance.EXACT, seen[0] + " steps run, expected " + steps));
                long[] ts = new long[res.timesteps().length];
                for (int i = 0; i < ts.length; i++) ts[i] = (long) res.timesteps()[i];
                out.add(Comparison.exact("timesteps", ts, c.tensors().longs("timesteps")));
                out.add(Comparison.of("image_float_hwc", nhwc(res.images()), c.tensor("image_float_hwc").toFloatArray(), t));
            }
        }
        return out;
    }

    /** [B,3,H,W] → NHWC floats, diffusers' {@code output_type='np'}. */
    static float[] nhwc(Tensor images) {
        long[] sh = images.shape();
        int b = (int) sh[0], ch = (int) sh[1], h = (int) sh[2], w = (int) sh[3];
        float[] v = images.toFloatArray();
        float[] o = new float[v.length];
        for (int n = 0; n < b; n++)
            for (int k = 0; k < ch; k++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        o[((n * h + y) * w + x) * ch + k] = v[((n * ch + k) * h + y) * w + x];
        return o;
    }
}
