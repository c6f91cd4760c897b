package dev.clif.shapes.train;

import dev.clif.ClifException;
import dev.clif.io.SafetensorsWriter;
import dev.clif.model.ClipConfig;
import dev.clif.model.ClipTextConfig;
import dev.clif.model.NativeModule;
import dev.clif.model.VaeConfig;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Writes trained models as diffusers / transformers folders: config.json in the libraries' own format (so
 * that {@code UNet.load}, {@code Vae.load}, {@code ClipTextEncoder.load}, {@code ClipModel.load} and
 * {@code StableDiffusion.load} read them back) and the weights as safetensors, written atomically.
 */
public final class ModelWriter {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** The tokenizer files a CLIP tokenizer folder holds. */
    public static final List<String> TOKENIZER_FILES = List.of("vocab.json", "merges.txt", "tokenizer_config.json",
            "special_tokens_map.json");

    private ModelWriter() {}

    /** Every parameter of {@code m}, stored as {@code dtype} (F32 or F16), under its own name. */
    public static void writeWeights(NativeModule m, Path file, DType dtype, String prefix, Map<String, String> metadata) {
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        for (String n : m.parameterNames()) {
            if (!n.startsWith(prefix)) continue;
            try (Tensor p = m.parameter(n); Tensor c = p.to(Device.CPU, dtype)) {
                entries.add(SafetensorsWriter.Entry.of(n, c));
            }
        }
        SafetensorsWriter.write(file, entries, metadata);
    }

    public static void writeVae(NativeModule vae, VaeConfig config, Path dir, DType dtype) {
        ObjectNode o = (ObjectNode) read(config.toNativeJson());
        ObjectNode out = JSON.createObjectNode();
        out.put("_class_name", "AutoencoderKL");
        out.put("_diffusers_version", "0.25.1");
        out.setAll(o);
        out.put("force_upcast", true);
        writeJson(dir.resolve("config.json"), out);
        writeWeights(vae, dir.resolve("diffusion_pytorch_model.safetensors"), dtype, "", Map.of("format", "pt"));
    }

    public static void writeUnet(NativeModule unet, String configJson, Path dir, DType dtype) {
        writeJson(dir.resolve("config.json"), read(configJson));
        writeWeights(unet, dir.resolve("diffusion_pytorch_model.safetensors"), dtype, "", Map.of("format", "pt"));
    }

    static ObjectNode textConfigJson(ClipTextConfig t) {
        ObjectNode out = JSON.createObjectNode();
        out.putArray("architectures").add("CLIPTextModel");
        out.put("model_type", "clip_text_model");
        out.setAll((ObjectNode) read(t.toNativeJson()));
        out.put("attention_dropout", 0.0);
        out.put("dropout", 0.0);
        out.put("initializer_factor", 1.0);
        out.put("initializer_range", 0.02);
        out.put("torch_dtype", "float32");
        out.put("transformers_version", "4.36.0");
        return out;
    }

    /** A CLIPTextModel folder from the text tower of a CLIPModel (its {@code text_model.*} parameters). */
    public static void writeTextEncoder(NativeModule clip, ClipTextConfig config, Path dir, DType dtype) {
        writeJson(dir.resolve("config.json"), textConfigJson(config));
        writeWeights(clip, dir.resolve("model.safetensors"), dtype, "text_model.", Map.of("format", "pt"));
    }

    public static void writeClip(NativeModule clip, ClipConfig config, Path dir, DType dtype) {
        ObjectNode out = JSON.createObjectNode();
        out.putArray("architectures").add("CLIPModel");
        out.put("model_type", "clip");
        out.put("projection_dim", config.projectionDim());
        out.put("logit_scale_init_value", config.logitScaleInitValue());
        out.put("initializer_factor", 1.0);
        out.put("torch_dtype", "float32");
        out.put("transformers_version", "4.36.0");
        ObjectNode text = textConfigJson(config.text());
        text.remove("architectures");
        out.set("text_config", text);
        ObjectNode vision = JSON.createObjectNode();
        vision.put("model_type", "clip_vision_model");
        vision.setAll((ObjectNode) read(config.vision().toNativeJson()));
        out.set("vision_config", vision);
        writeJson(dir.resolve("config.json"), out);
        writeWeights(clip, dir.resolve("model.safetensors"), dtype, "", Map.of("format", "pt"));
        int size = config.vision().imageSize();
        writeJson(dir.resolve("preprocessor_config.json"), read("""
                {"crop_size": {"height": %d, "width": %d}, "do_center_crop": true, "do_convert_rgb": true,
                 "do_normalize": true, "do_rescale": true, "do_resize": true, "image_mean": [0.5, 0.5, 0.5],
                 "image_processor_type": "CLIPImageProcessor", "image_std": [0.5, 0.5, 0.5], "resample": 3,
                 "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": %d}}
                """.formatted(size, size, size)));
    }

    /** The pipeline files: model_index.json and scheduler/scheduler_config.json. */
    public static void writePipelineFiles(Path sd) {
        writeJson(sd.resolve("model_index.json"), read("""
                {"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.25.1",
                 "feature_extractor": [null, null], "image_encoder": [null, null], "requires_safety_checker": false,
                 "safety_checker": [null, null], "scheduler": ["diffusers", "DDIMScheduler"],
                 "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
                 "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}
                """));
        writeJson(sd.resolve("scheduler").resolve("scheduler_config.json"), read(ShapesModels.schedulerJson()));
    }

    /** Copies the CLIP tokenizer files (vocab.json and merges.txt required) from {@code from} into {@code to}. */
    public static void copyTokenizer(Path from, Path to) {
        try {
            Files.createDirectories(to);
            for (String f : TOKENIZER_FILES) {
                Path src = from.resolve(f);
                if (!Files.isRegularFile(src)) {
                    if (f.equals("vocab.json") || f.equals("merges.txt"))
                        throw new ClifException(from + ": no " + f + " (a CLIP tokenizer folder needs vocab.json and merges.txt)");
                    continue;
                }
                Files.copy(src, to.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy the tokenizer to " + to, e);
        }
    }

    static com.fasterxml.jackson.databind.JsonNode read(String json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static void writeJson(Path file, com.fasterxml.jackson.databind.JsonNode node) {
        String text;
        try {
            text = JSON.writeValueAsString(node) + "\n";
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
        dev.clif.AtomicFile.writeBytes(file, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Deletes a folder tree if it exists. */
    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + dir, e);
        }
    }
}
