package dev.clif.purge;

import dev.clif.ClifException;
import dev.clif.io.SafetensorsFile;
import dev.clif.io.SafetensorsWriter;
import dev.clif.model.AdamW;
import dev.clif.model.UNet;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A purge checkpoint: one safetensors file (written atomically: temporary file, fsync, rename) holding the trainable
 * tensors ({@code param/NAME}), AdamW's moments ({@code exp_avg/NAME}, {@code exp_avg_sq/NAME}) and, in its
 * metadata, the step, AdamW's step count, the configuration, the base fingerprint and the per-step history. The
 * random state needs no storing: every draw of step s derives from (seed, s) alone, so the step number is the RNG
 * state.
 */
final class Checkpoint {
    static final String FORMAT = "clif-checkpoint/1";
    private static final ObjectMapper JSON = new ObjectMapper();

    private Checkpoint() {}

    static Path file(Path outputDir) {
        return outputDir.resolve("checkpoint").resolve("checkpoint.safetensors");
    }

    static void save(Path file, int step, UNet unet, List<String> names, AdamW adam, ObjectNode config, String fingerprint,
                     List<PurgeListener.StepEvent> history, double elapsedSeconds, LossScaler scaler) {
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        long adamStep = 0;
        for (int i = 0; i < names.size(); i++) {
            String n = names.get(i);
            try (Tensor p = unet.parameter(n); Tensor cpu = p.to(Device.CPU)) {
                entries.add(SafetensorsWriter.Entry.of("param/" + n, cpu));
            }
            AdamW.State s = adam.state(i);
            try (Tensor a = s.expAvg(); Tensor b = s.expAvgSq(); Tensor ac = a.to(Device.CPU); Tensor bc = b.to(Device.CPU)) {
                entries.add(SafetensorsWriter.Entry.of("exp_avg/" + n, ac));
                entries.add(SafetensorsWriter.Entry.of("exp_avg_sq/" + n, bc));
            }
            adamStep = s.step();
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("step", Integer.toString(step));
        meta.put("adam_step", Long.toString(adamStep));
        meta.put("base_unet_sha256", fingerprint);
        meta.put("elapsed_seconds", Double.toString(elapsedSeconds));
        meta.put("config", config.toString());
        meta.put("history", historyJson(history).toString());
        if (scaler != null) {
            meta.put("loss_scale", Double.toString(scaler.scale()));
            meta.put("loss_scale_good_steps", Integer.toString(scaler.goodSteps()));
        }
        SafetensorsWriter.write(file, entries, meta);
    }

    /** What a checkpoint holds besides the tensors; {@code scaler} is null unless the purge ran in fp16. */
    record Info(int step, long adamStep, String fingerprint, JsonNode config, List<PurgeListener.StepEvent> history, double elapsedSeconds,
                LossScaler scaler) {}

    /** Reads the checkpoint, restores the trainable tensors into {@code unet} and AdamW's state, and returns its info. */
    static Info restore(Path file, UNet unet, List<String> names, AdamW adam, Device device) {
        if (!Files.isRegularFile(file)) throw new ClifException("--resume: no checkpoint at " + file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Map<String, String> meta = f.metadata();
            if (!FORMAT.equals(meta.get("format"))) throw new ClifException(file + ": not a Clif purge checkpoint");
            Info info;
            try {
                info = new Info(Integer.parseInt(meta.get("step")), Long.parseLong(meta.get("adam_step")), meta.get("base_unet_sha256"),
                        JSON.readTree(meta.get("config")), parseHistory(JSON.readTree(meta.get("history"))),
                        Double.parseDouble(meta.get("elapsed_seconds")),
                        meta.containsKey("loss_scale") ? new LossScaler(Double.parseDouble(meta.get("loss_scale")),
                                Integer.parseInt(meta.get("loss_scale_good_steps"))) : null);
            } catch (JsonProcessingException | RuntimeException e) {
                throw new ClifException(file + ": damaged checkpoint metadata: " + e.getMessage(), e);
            }
            for (String n : names)
                for (String prefix : new String[] {"param/", "exp_avg/", "exp_avg_sq/"})
                    if (!f.contains(prefix + n))
                        throw new ClifException(file + ": checkpoint has no '" + prefix + n + "': it was made with another parameter selection");
            int expected = names.size() * 3;
            if (f.names().size() != expected)
                throw new ClifException(file + ": checkpoint holds " + f.names().size() / 3 + " trainable tensors, this purge selects " + names.size());
            for (int i = 0; i < names.size(); i++) {
                String n = names.get(i);
                try (Tensor p = f.load("param/" + n, device); Tensor a = f.load("exp_avg/" + n, device);
                     Tensor b = f.load("exp_avg_sq/" + n, device)) {
                    unet.setParameter(n, p);
                    adam.restore(i, a, b, info.adamStep());
                }
            }
            return info;
        }
    }

    static ArrayNode historyJson(List<PurgeListener.StepEvent> history) {
        ArrayNode a = JSON.createArrayNode();
        for (PurgeListener.StepEvent e : history) {
            ObjectNode o = a.addObject();
            o.put("step", e.step());
            o.put("concept", e.concept());
            o.put("timestep", e.timestep());
            o.put("loss", e.loss());
            o.put("objective_loss", e.objectiveLoss());
            o.put("preserve_loss", e.preserveLoss());
            o.put("grad_norm", e.gradNorm());
            o.put("step_seconds", e.stepSeconds());
            o.put("peak_device_memory", e.peakDeviceMemory());
        }
        return a;
    }

    static List<PurgeListener.StepEvent> parseHistory(JsonNode a) {
        List<PurgeListener.StepEvent> out = new ArrayList<>();
        int total = a.size();
        for (JsonNode o : a)
            out.add(new PurgeListener.StepEvent(o.get("step").asInt(), total, o.get("concept").asText(), o.get("timestep").asInt(),
                    o.get("loss").asDouble(), o.get("objective_loss").asDouble(), o.get("preserve_loss").asDouble(),
                    o.get("grad_norm").asDouble(), o.get("step_seconds").asDouble(), o.get("peak_device_memory").asLong(), 0));
        return out;
    }
}
