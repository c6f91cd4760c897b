package dev.clif.golden;

import dev.clif.model.Conditioning;
import dev.clif.sampling.StableDiffusion;
import dev.clif.model.UNet;
import dev.clif.sampling.Txt2Img;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/**
 * The SDXL cases of the {@code sdxl/} root (diffusers 0.25.1's StableDiffusionXLPipeline on tiny-sdxl):
 * {@code sdxl_encode_prompt} (both encoders' penultimate states concatenated, the second's pooled projection, zeros
 * for the absent negative prompt), {@code sdxl_unet_forward} (the text_time UNet on stored text_embeds and time_ids)
 * and {@code pipeline_sdxl} (3 Euler steps with guidance, every UNet input and output, the latents, the raw decode).
 * Tolerances are the sidecar's (ten times looser on CUDA).
 */
public final class SdxlCases implements CaseRunner {
    @Override
    public List<String> cases() {
        return List.of("sdxl_encode_prompt", "sdxl_unet_forward", "pipeline_sdxl");
    }

    @Override
    public List<Comparison> run(GoldenCase c, Device device) {
        Tolerance tol = c.tolerance().times(device.isCuda() ? 10 : 1);
        try (TensorScope scope = TensorScope.open()) {
            return switch (c.name()) {
                case "sdxl_unet_forward" -> unet(c, device, tol);
                case "sdxl_encode_prompt" -> encode(c, device, tol);
                default -> pipeline(c, device, tol);
            };
        }
    }

    private static List<Comparison> unet(GoldenCase c, Device device, Tolerance tol) {
        try (UNet unet = UNet.load(c.model(), device, DType.F32)) {
            Tensor y = unet.forward(c.tensor("latents").to(device), c.tensor("timesteps").to(device),
                    c.tensor("encoder_hidden_states").to(device), c.tensor("text_embeds").to(device), c.tensor("time_ids").to(device), false);
            return List.of(Comparison.of("out", y, c.tensor("out"), tol));
        }
    }

    private static List<Comparison> encode(GoldenCase c, Device device, Tolerance tol) {
        JsonNode s = c.sidecar();
        List<Comparison> out = new ArrayList<>();
        try (StableDiffusion sd = StableDiffusion.load(c.model(), device, DType.F32)) {
            String prompt = s.path("prompt").asText();
            String negative = s.path("negative_prompt").isNull() ? "" : s.path("negative_prompt").asText();
            Conditioning pos = sd.condition(List.of(prompt), 0, 32, 32, false);
            Conditioning neg = sd.condition(List.of(negative), 0, 32, 32, true);
            out.add(Comparison.of("prompt_embeds", pos.hiddenStates(), c.tensor("prompt_embeds"), tol));
            out.add(Comparison.of("negative_prompt_embeds", neg.hiddenStates(), c.tensor("negative_prompt_embeds"), tol));
            out.add(Comparison.of("pooled_prompt_embeds", pos.textEmbeds(), c.tensor("pooled_prompt_embeds"), tol));
            out.add(Comparison.of("negative_pooled_prompt_embeds", neg.textEmbeds(), c.tensor("negative_pooled_prompt_embeds"), tol));
        }
        return out;
    }

    private static List<Comparison> pipeline(GoldenCase c, Device device, Tolerance t) {
        JsonNode s = c.sidecar();
        List<Comparison> out = new ArrayList<>();
        try (StableDiffusion sd = StableDiffusion.load(c.model(), device, DType.F32)) {
            String prompt = s.path("prompt").asText();
            String negative = s.path("negative_prompt").isNull() ? "" : s.path("negative_prompt").asText();
            int width = s.path("width").asInt(), height = s.path("height").asInt();
            for (String f : List.of("original_size", "target_size"))
                if (s.path(f).path(0).asInt() != height || s.path(f).path(1).asInt() != width)
                    throw new IllegalStateException(c.sidecarPath() + ": " + f + " differs from the image size; Clif's pipeline uses the image size");
            Conditioning uncond = sd.condition(List.of(negative), 0, width, height, true);
            Conditioning cond = sd.condition(List.of(prompt), 0, width, height, false);
            Conditioning both = Conditioning.cat(uncond, cond);
            out.add(Comparison.of("add_text_embeds", both.textEmbeds(), c.tensor("add_text_embeds"), t));
            out.add(Comparison.of("add_time_ids", both.timeIds(), c.tensor("add_time_ids"), t));
            Txt2Img.Request r = new Txt2Img.Request(prompt, negative, s.path("num_inference_steps").asInt(),
                    s.path("guidance_scale").asDouble(), null, 0, width, height, 1, 0, 0);
            Txt2Img.StepListener check = (i, total, timestep, input, unetOut, guided, after) -> {
                String p = "step" + i + ".";
                out.add(Comparison.of(p + "unet_input", input, c.tensor(p + "unet_input"), t));
                out.add(Comparison.of(p + "unet_output", unetOut, c.tensor(p + "unet_output"), t));
                out.add(Comparison.of(p + "latents_after", after, c.tensor(p + "latents_after"), t));
            };
            try (Txt2Img.Result res = new Txt2Img(sd).generateFrom(r, c.tensor("initial_latents"), check)) {
                float[] ts = new float[res.timesteps().length];
                for (int i = 0; i < ts.length; i++) ts[i] = (float) res.timesteps()[i];
                out.add(Comparison.of("timesteps", ts, c.tensor("timesteps").toFloatArray(), Tolerance.EXACT));
                out.add(Comparison.of("final_latents", res.latents(), c.tensor("final_latents"), t));
                Tensor raw = sd.vae().decode(res.latents().to(device).scale(1.0 / sd.vae().scalingFactor()), false);
                out.add(Comparison.of("image_raw", raw, c.tensor("image_raw"), t));
            }
        }
        return out;
    }
}
