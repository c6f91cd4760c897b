package dev.clif.sampling;

import dev.clif.ClifException;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Safe Latent Diffusion (Schramowski et al. 2023) as diffusers 0.25.1's {@code StableDiffusionPipelineSafe} does it:
 * a third conditioning, the safety concept, and per denoising step, with ε_u, ε_t, ε_s the UNet's outputs for the
 * unconditional, prompt and safety-concept embeddings:
 * <pre>
 *   scale    = clamp(|ε_t − ε_s|·s_S, max 1),  zeroed where ε_t − ε_s ≥ λ           (eq. 6)
 *   g_s      = (ε_s − ε_u)·scale + s_m·ν                                              (eqs. 4, 7)
 *   ν        = β_m·ν + (1 − β_m)·g_s           (from the first step, warm-up included; ν starts at 0) (eq. 8)
 *   guidance = ε_t − ε_u − g_s   once the step index reaches δ (the warm-up), else ε_t − ε_u   (eq. 3)
 *   ε        = ε_u + w·guidance
 * </pre>
 * Safety guidance is on only with classifier-free guidance (w &gt; 1) and s_S &gt; 1, as in diffusers.
 *
 * @param warmupSteps    δ, {@code sld_warmup_steps}
 * @param guidanceScale  s_S, {@code sld_guidance_scale}
 * @param threshold      λ, {@code sld_threshold}
 * @param momentumScale  s_m, {@code sld_momentum_scale}
 * @param momentumBeta   β_m, {@code sld_mom_beta}
 * @param concept        the safety concept's text
 */
public record SafeLatentDiffusion(int warmupSteps, double guidanceScale, double threshold, double momentumScale,
                                  double momentumBeta, String concept) {
    /** diffusers' {@code StableDiffusionPipelineSafe._safety_text_concept}. */
    public static final String DEFAULT_CONCEPT = "an image showing hate, harassment, violence, suffering, humiliation, harm, "
            + "suicide, sexual, nudity, bodily fluids, blood, obscene gestures, illegal activity, drug use, theft, vandalism, "
            + "weapons, child abuse, brutality, cruelty";

    /** diffusers' {@code SafetyConfig} presets: WEAK, MEDIUM, STRONG, MAX. */
    public static final Map<String, SafeLatentDiffusion> PRESETS;

    static {
        Map<String, SafeLatentDiffusion> p = new LinkedHashMap<>();
        p.put("weak", new SafeLatentDiffusion(15, 20, 0.0, 0.0, 0.0, DEFAULT_CONCEPT));
        p.put("medium", new SafeLatentDiffusion(10, 1000, 0.01, 0.3, 0.4, DEFAULT_CONCEPT));
        p.put("strong", new SafeLatentDiffusion(7, 2000, 0.025, 0.5, 0.7, DEFAULT_CONCEPT));
        p.put("max", new SafeLatentDiffusion(0, 5000, 1.0, 0.5, 0.7, DEFAULT_CONCEPT));
        PRESETS = java.util.Collections.unmodifiableMap(p);
    }

    public SafeLatentDiffusion {
        if (warmupSteps < 0) throw new ClifException("SLD warm-up steps must be 0 or more, got " + warmupSteps);
        for (double v : new double[] {guidanceScale, threshold, momentumScale, momentumBeta})
            if (!Double.isFinite(v)) throw new ClifException("SLD parameters must be finite numbers");
        if (guidanceScale < 0) throw new ClifException("SLD guidance scale must be 0 or more, got " + guidanceScale);
        if (momentumBeta < 0 || momentumBeta > 1) throw new ClifException("SLD momentum beta must lie in [0, 1], got " + momentumBeta);
        if (concept == null || concept.isBlank()) throw new ClifException("SLD needs a safety concept text");
    }

    /** A preset by name (case-insensitive): weak, medium, strong or max. */
    public static SafeLatentDiffusion preset(String name) {
        SafeLatentDiffusion p = name == null ? null : PRESETS.get(name.trim().toLowerCase(Locale.ROOT));
        if (p == null)
            throw new ClifException("unknown SLD preset '" + name + "' (known: " + String.join(", ", PRESETS.keySet()) + ")");
        return p;
    }

    public SafeLatentDiffusion withConcept(String text) {
        return new SafeLatentDiffusion(warmupSteps, guidanceScale, threshold, momentumScale, momentumBeta, text);
    }

    /** Whether safety guidance runs for a request with this classifier-free guidance scale (diffusers' rule). */
    public boolean enabled(double cfgScale) {
        return guidanceScale > 1.0 && cfgScale > 1.0;
    }

    /**
     * One step of the combination, in float32 as torch does it. {@code momentum} (same length, starts at 0) is updated in
     * place; returns ε = ε_u + w·guidance.
     */
    public float[] combine(float[] uncond, float[] text, float[] safety, float[] momentum, int stepIndex, double cfgScale) {
        int n = uncond.length;
        if (text.length != n || safety.length != n || momentum.length != n)
            throw new IllegalArgumentException("SLD: the three noise predictions and the momentum differ in size");
        float sS = (float) guidanceScale, lambda = (float) threshold, sM = (float) momentumScale;
        float beta = (float) momentumBeta, oneMinusBeta = (float) (1 - momentumBeta), w = (float) cfgScale;
        boolean apply = stepIndex >= warmupSteps;
        float[] out = new float[n];
        for (int k = 0; k < n; k++) {
            float guidance = text[k] - uncond[k];
            float diff = text[k] - safety[k];
            float scale = Math.min(Math.abs(diff) * sS, 1.0f);
            if (diff >= lambda) scale = 0f;
            float gs = (safety[k] - uncond[k]) * scale;
            gs = gs + sM * momentum[k];
            momentum[k] = beta * momentum[k] + oneMinusBeta * gs;
            if (apply) guidance = guidance - gs;
            out[k] = uncond[k] + w * guidance;
        }
        return out;
    }

    /** For manifests and reports. */
    public Map<String, Object> describe() {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("sld_warmup_steps", warmupSteps);
        o.put("sld_guidance_scale", guidanceScale);
        o.put("sld_threshold", threshold);
        o.put("sld_momentum_scale", momentumScale);
        o.put("sld_mom_beta", momentumBeta);
        o.put("safety_concept", concept);
        return o;
    }
}
