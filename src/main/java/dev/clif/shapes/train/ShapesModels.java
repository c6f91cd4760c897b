package dev.clif.shapes.train;

import dev.clif.model.ClipConfig;
import dev.clif.model.ClipTextConfig;
import dev.clif.model.ClipVisionConfig;
import dev.clif.model.UNetConfig;
import dev.clif.model.VaeConfig;
import dev.clif.shapes.Colour;
import dev.clif.shapes.Prompts;
import dev.clif.text.ClipTokenizer;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The architectures of the shapes-world models: the same diffusers / transformers classes as real Stable
 * Diffusion, only tiny. Sizes were chosen so the three trainings fit in about half an hour on two CPU cores.
 *
 * <ul>
 *   <li>VAE: AutoencoderKL, 3 blocks of 16-32-32 channels, one resnet each, 4 latent channels: 32x32 pixels to
 *       8x8 latents.</li>
 *   <li>CLIP: CLIPModel with a 2-layer, 32-wide text tower (the real 49408-token CLIP vocabulary, 77 positions)
 *       and a 2-layer, 64-wide ViT over 4x4 patches of the 32x32 picture; 32-dimensional joint space.</li>
 *   <li>UNet: UNet2DConditionModel, 2 cross-attention blocks of 32-48 channels, one resnet each, a
 *       cross-attention mid block, 4 heads, cross_attention_dim 32 (the text tower's width).</li>
 * </ul>
 */
public final class ShapesModels {
    private ShapesModels() {}

    public static VaeConfig vae() {
        return new VaeConfig(3, 3, List.of("DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"),
                List.of("UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"), List.of(16, 32, 32), 1, "silu", 4, 8,
                32, 1.0, true, true, true);
    }

    public static ClipTextConfig clipText() {
        return new ClipTextConfig(49408, 32, 64, 2, 2, 77, "quick_gelu", 1e-5, 49406, 49407, 49407, 32);
    }

    public static ClipConfig clip() {
        ClipVisionConfig vision = new ClipVisionConfig(64, 128, 2, 4, 3, 32, 4, "quick_gelu", 1e-5, 32);
        return new ClipConfig(clipText(), vision, 32, 2.6592);
    }

    /** The UNet's diffusers config.json (what is written to unet/config.json). */
    public static String unetJson() {
        return """
                {"_class_name": "UNet2DConditionModel", "_diffusers_version": "0.25.1", "sample_size": 8,
                 "in_channels": 4, "out_channels": 4, "block_out_channels": [32, 48], "layers_per_block": 1,
                 "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
                 "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
                 "mid_block_type": "UNetMidBlock2DCrossAttn", "attention_head_dim": 4, "cross_attention_dim": 32,
                 "norm_num_groups": 16, "norm_eps": 1e-05, "act_fn": "silu", "flip_sin_to_cos": true, "freq_shift": 0,
                 "downsample_padding": 1, "mid_block_scale_factor": 1, "center_input_sample": false,
                 "use_linear_projection": false, "upcast_attention": false, "only_cross_attention": false,
                 "dual_cross_attention": false, "resnet_time_scale_shift": "default", "time_embedding_type": "positional",
                 "transformer_layers_per_block": 1}
                """;
    }

    public static UNetConfig unet() {
        return UNetConfig.parse(unetJson(), "ShapesModels.unet()");
    }

    /** SD's DDIM scheduler config (scaled_linear betas 0.00085..0.012 over 1000 steps, epsilon prediction). */
    public static String schedulerJson() {
        return """
                {
                  "_class_name": "DDIMScheduler",
                  "_diffusers_version": "0.25.1",
                  "beta_end": 0.012,
                  "beta_schedule": "scaled_linear",
                  "beta_start": 0.00085,
                  "clip_sample": false,
                  "clip_sample_range": 1.0,
                  "dynamic_thresholding_ratio": 0.995,
                  "num_train_timesteps": 1000,
                  "prediction_type": "epsilon",
                  "rescale_betas_zero_snr": false,
                  "sample_max_value": 1.0,
                  "set_alpha_to_one": false,
                  "skip_prk_steps": true,
                  "steps_offset": 1,
                  "thresholding": false,
                  "timestep_spacing": "leading",
                  "trained_betas": null
                }
                """;
    }

    /** Every caption the world writes (one and two shapes), in a fixed order. */
    public static List<String> captions() {
        Set<String> all = new LinkedHashSet<>();
        for (Colour c : Colour.values()) all.addAll(Prompts.singles(c));
        for (Colour c : Colour.values()) all.addAll(Prompts.pairs(c));
        return new ArrayList<>(all);
    }

    /** The token ids the world's captions (and the empty prompt) use, special tokens included. */
    public static Set<Integer> usedTokens(ClipTokenizer tokenizer) {
        Set<Integer> ids = new TreeSet<>();
        List<String> texts = new ArrayList<>(captions());
        texts.add("");
        for (long[] row : tokenizer.encodeBatch(texts))
            for (long id : row) ids.add((int) id);
        return ids;
    }

    /** alphas_cumprod of SD's scaled_linear schedule (beta 0.00085..0.012, 1000 steps). */
    public static double[] alphasCumprod() {
        int n = 1000;
        double a = Math.sqrt(0.00085), b = Math.sqrt(0.012);
        double[] out = new double[n];
        double prod = 1;
        for (int i = 0; i < n; i++) {
            double s = a + (b - a) * i / (n - 1);
            prod *= 1 - s * s;
            out[i] = prod;
        }
        return out;
    }
}
