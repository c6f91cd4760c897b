package dev.clif.eval;

import dev.clif.ClifException;
import dev.clif.io.ModelFolder;
import dev.clif.io.Sha256;
import dev.clif.sampling.StableDiffusion;
import dev.clif.purge.PurgedModel;
import dev.clif.sampling.SafeLatentDiffusion;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One model variant of an evaluation, from {@code NAME=SPEC}:
 * <pre>
 *   SPEC   = BASE [ "+" DELTA ] { ";" KEY "=" VALUE }
 *   BASE   = a diffusers folder, "shapes" (the shipped shapes-world model), or a single-file FILE.safetensors
 *            (A1111/ComfyUI layout, read in place: {@link SingleFileModels})
 *   DELTA  = a purge's delta.safetensors, applied to BASE in memory (nothing is copied to disk)
 *   KEY    = negative            (a negative prompt used for every image of this variant)
 *          | config              (for a single-file BASE: a diffusers folder with its configs, tokenizer, scheduler)
 *          | sld                 (Safe Latent Diffusion with a preset of diffusers' SafetyConfig: weak, medium, strong, max)
 *          | sld-concept         (SLD's safety concept text; default diffusers' own)
 *          | sld-warmup | sld-scale | sld-threshold | sld-momentum | sld-beta   (override one SLD parameter of the preset)
 * </pre>
 * e.g. {@code clif=shapes+purged/delta.safetensors}, {@code neg='shapes;negative=red'}. Inference-time methods
 * (SLD's {@code sld=PRESET}) and closed-form edits (a UCE purge writes a delta) fit the same grammar.
 * {@code NAME} names the variant in results and is a folder name under {@code images/}.
 */
public record ModelSpec(String name, String spec, Path base, Path delta, String negativePrompt, SafeLatentDiffusion sld) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
    public static final List<String> KEYS = List.of("negative", "config", "sld", "sld-concept", "sld-warmup", "sld-scale", "sld-threshold",
            "sld-momentum", "sld-beta");

    /** A variant without SLD. */
    public ModelSpec(String name, String spec, Path base, Path delta, String negativePrompt) {
        this(name, spec, base, delta, negativePrompt, null);
    }

    public ModelSpec {
        if (!NAME.matcher(name).matches())
            throw new ClifException("model name '" + name + "' must be letters, digits, '.', '_' or '-' (it names a folder under images/)");
    }

    /** Parses {@code NAME=SPEC}; the base is resolved through {@link ModelAliases} but not yet loaded. */
    public static ModelSpec parse(String nameAndSpec) {
        int eq = nameAndSpec.indexOf('=');
        if (eq <= 0 || eq == nameAndSpec.length() - 1)
            throw new ClifException("--model must look like NAME=SPEC (e.g. base=shapes or clif=shapes+purged/delta.safetensors), got '" + nameAndSpec + "'");
        String name = nameAndSpec.substring(0, eq).trim();
        String spec = nameAndSpec.substring(eq + 1).trim();
        String[] parts = spec.split(";", -1);
        String location = parts[0].trim();
        String negative = null;
        Path config = null;
        Map<String, String> sldKeys = new LinkedHashMap<>();
        for (int i = 1; i < parts.length; i++) {
            String kv = parts[i];
            int e = kv.indexOf('=');
            String key = e < 0 ? kv.trim() : kv.substring(0, e).trim();
            if (e < 0 || !KEYS.contains(key))
                throw new ClifException("model " + name + ": unknown option '" + kv.trim() + "' (known: " + String.join(", ", KEYS) + ", as KEY=VALUE after ';')");
            String value = kv.substring(e + 1);
            switch (key) {
                case "negative" -> negative = value;
                case "config" -> config = Path.of(value.trim()); // a single-file base's configs
                default -> sldKeys.put(key, value.trim());
            }
        }
        SafeLatentDiffusion sld = sld(name, sldKeys);
        Path base;
        Path delta = null;
        int plus = location.lastIndexOf('+');
        if (plus > 0 && !Files.isDirectory(Path.of(location))) {
            base = ModelAliases.resolve(location.substring(0, plus).trim(), config);
            delta = Path.of(location.substring(plus + 1).trim());
            if (!Files.isRegularFile(delta)) throw new ClifException("model " + name + ": " + delta + ": no such delta file");
        } else {
            base = ModelAliases.resolve(location, config);
        }
        if (!Files.isDirectory(base))
            throw new ClifException("model " + name + ": " + base + ": not a folder (expected a diffusers Stable Diffusion folder or 'shapes')");
        return new ModelSpec(name, spec, base, delta, negative, sld);
    }

    private static SafeLatentDiffusion sld(String name, Map<String, String> keys) {
        if (keys.isEmpty()) return null;
        if (!keys.containsKey("sld"))
            throw new ClifException("model " + name + ": " + String.join(", ", keys.keySet()) + " need sld=PRESET (weak, medium, strong, max)");
        SafeLatentDiffusion p = SafeLatentDiffusion.preset(keys.get("sld"));
        try {
            int warmup = keys.containsKey("sld-warmup") ? Integer.parseInt(keys.get("sld-warmup")) : p.warmupSteps();
            double scale = keys.containsKey("sld-scale") ? Double.parseDouble(keys.get("sld-scale")) : p.guidanceScale();
            double threshold = keys.containsKey("sld-threshold") ? Double.parseDouble(keys.get("sld-threshold")) : p.threshold();
            double momentum = keys.containsKey("sld-momentum") ? Double.parseDouble(keys.get("sld-momentum")) : p.momentumScale();
            double beta = keys.containsKey("sld-beta") ? Double.parseDouble(keys.get("sld-beta")) : p.momentumBeta();
            String concept = keys.getOrDefault("sld-concept", p.concept());
            return new SafeLatentDiffusion(warmup, scale, threshold, momentum, beta, concept);
        } catch (NumberFormatException e) {
            throw new ClifException("model " + name + ": an SLD parameter is not a number (" + e.getMessage() + ")");
        } catch (ClifException e) {
            throw new ClifException("model " + name + ": " + e.getMessage());
        }
    }

    /** Loads the base and applies the delta in memory. */
    public StableDiffusion load(Device device, DType dtype) {
        StableDiffusion sd = StableDiffusion.load(base, device, dtype);
        if (delta != null) {
            try {
                PurgedModel.applyDelta(sd.unet(), base, delta);
            } catch (RuntimeException e) {
                sd.close();
                throw e;
            }
        }
        return sd;
    }

    /**
     * What makes this variant's images reproducible, for the manifest: the spec, the SHA-256 of the weights of its
     * text encoder (SDXL: both), UNet and VAE (in that order) and of the delta, and the negative prompt.
     */
    public Map<String, Object> fingerprint() {
        List<Path> weights = new ArrayList<>();
        boolean xl = dev.clif.sampling.StableDiffusion.isXlFolder(base);
        for (String c : xl ? List.of("text_encoder", "text_encoder_2", "unet", "vae") : List.of("text_encoder", "unet", "vae")) {
            Path dir = base.resolve(c);
            if (!Files.isDirectory(dir)) throw new ClifException("model " + name + ": " + base + " has no " + c + "/");
            weights.addAll(ModelFolder.weightFiles(dir));
        }
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("spec", spec);
        o.put("base", base.toAbsolutePath().normalize().toString());
        o.put("weights_sha256", Sha256.of(weights));
        if (delta != null) {
            o.put("delta", delta.toAbsolutePath().normalize().toString());
            o.put("delta_sha256", Sha256.of(delta));
        }
        if (negativePrompt != null) o.put("negative_prompt", negativePrompt);
        if (sld != null) o.put("sld", sld.describe());
        return o;
    }
}
