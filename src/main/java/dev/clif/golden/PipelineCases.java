package dev.clif.golden;

import dev.clif.sampling.ImageBytes;
import dev.clif.sampling.StableDiffusion;
import dev.clif.sampling.Txt2Img;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/** The whole text-to-image pipeline ("pipeline_2steps"): prompt encoding, every step, decode, uint8 image. */
public final class PipelineCases implements CaseRunner {
    @Override
    public List<String> cases() {
        return List.of("pipeline_2steps");
    }

    @Override
    public List<Comparison> run(GoldenCase c, Device device) {
        JsonNode s = c.sidecar();
        Tolerance tol = c.tolerance();
        if (device.isCuda()) tol = tol.times(10);
        Tolerance t = tol;
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
            try (Tensor pe = sd.encodePrompts(List.of(prompt), 0); Tensor ne = sd.encodePrompts(List.of(negative), 0)) {
                out.add(Comparison.of("prompt_embeds", pe, c.tensor("prompt_embeds"), t));
                out.add(Comparison.of("negative_prompt_embeds", ne, c.tensor("negative_prompt_embeds"), t));
            }
            Txt2Img.StepListener check = (i, total, timestep, input, unetOut, guided, after) -> {
                String p = "step" + i + ".";
                out.add(Comparison.of(p + "unet_input", input, c.tensor(p + "unet_input"), t));
                out.add(Comparison.of(p + "unet_output", unetOut, c.tensor(p + "unet_output"), t));
                out.add(Comparison.of(p + "noise_pred_guided", guided, c.tensor(p + "noise_pred_guided"), t));
                out.add(Comparison.of(p + "latents_after", after, c.tensor(p + "latents_after"), t));
            };
            try (Txt2Img.Result res = new Txt2Img(sd).generateFrom(r, latents, check)) {
                long[] ts = new long[res.timesteps().length];
                for (int i = 0; i < ts.length; i++) ts[i] = (long) res.timesteps()[i];
                out.add(Comparison.exact("timesteps", ts, c.tensors().longs("timesteps")));
                out.add(Comparison.of("final_latents", res.latents(), c.tensor("final_latents"), t));
                out.add(Comparison.of("image_postprocessed", res.images(), c.tensor("image_postprocessed"), t));
                byte[] u8 = ImageBytes.toUint8Hwc(res.images())[0];
                byte[] expected = c.tensors().bytes("image_uint8_hwc").toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                out.add(uint8("image_uint8_hwc", u8, expected));
            }
        }
        return out;
    }

    /** Rounding can flip a value sitting on .5 within the float tolerance: allow off-by-one, report the max. */
    private static Comparison uint8(String name, byte[] actual, byte[] expected) {
        if (actual.length != expected.length)
            return new Comparison(name, false, Double.POSITIVE_INFINITY, Tolerance.EXACT, actual.length + " bytes != " + expected.length);
        int max = 0;
        for (int i = 0; i < actual.length; i++) max = Math.max(max, Math.abs((actual[i] & 0xff) - (expected[i] & 0xff)));
        return new Comparison(name, max <= 1, max, new Tolerance(1, 0), "");
    }
}
