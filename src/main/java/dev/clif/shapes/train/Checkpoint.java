package dev.clif.shapes.train;

import dev.clif.ClifException;
import dev.clif.io.SafetensorsFile;
import dev.clif.io.SafetensorsWriter;
import dev.clif.model.AdamW;
import dev.clif.model.NativeModule;
import dev.clif.tensor.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A training checkpoint in one safetensors file, written atomically (temporary file, fsync, rename): every
 * parameter ({@code model.<name>}), AdamW's moment estimates ({@code adam.m.<name>}, {@code adam.v.<name>}),
 * and in the metadata the step reached, the optimizer's step count and the run's seed.
 */
final class Checkpoint {
    private Checkpoint() {}

    static void save(Path file, NativeModule module, AdamW optimizer, int step, long seed, String stage, Map<String, String> extra) {
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        for (String n : module.parameterNames())
            try (Tensor p = module.parameter(n)) {
                entries.add(SafetensorsWriter.Entry.of("model." + n, p));
            }
        long adamStep = 0;
        List<String> names = optimizer.parameterNames();
        for (int i = 0; i < names.size(); i++) {
            AdamW.State s = optimizer.state(i);
            try (Tensor m = s.expAvg(); Tensor v = s.expAvgSq()) {
                entries.add(SafetensorsWriter.Entry.of("adam.m." + names.get(i), m));
                entries.add(SafetensorsWriter.Entry.of("adam.v." + names.get(i), v));
            }
            adamStep = s.step();
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("stage", stage);
        meta.put("step", Integer.toString(step));
        meta.put("adam_step", Long.toString(adamStep));
        meta.put("seed", Long.toString(seed));
        if (extra != null) meta.putAll(extra);
        SafetensorsWriter.write(file, entries, meta);
    }

    /**
     * Restores module and optimizer from {@code file}; returns the checkpoint's metadata (with "step"), or null
     * when there is no file.
     */
    static Map<String, String> restore(Path file, NativeModule module, AdamW optimizer, long seed, String stage) {
        if (!Files.isRegularFile(file)) return null;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Map<String, String> meta = f.metadata();
            if (!stage.equals(meta.get("stage")) || !Long.toString(seed).equals(meta.get("seed")))
                throw new ClifException(file + ": a checkpoint of stage " + meta.get("stage") + " seed " + meta.get("seed")
                        + ", not of " + stage + " seed " + seed + " (use another --out, or train without --resume)");
            for (String n : module.parameterNames())
                try (Tensor t = f.load("model." + n)) {
                    module.setParameter(n, t);
                }
            long adamStep = Long.parseLong(meta.get("adam_step"));
            List<String> names = optimizer.parameterNames();
            for (int i = 0; i < names.size(); i++)
                try (Tensor m = f.load("adam.m." + names.get(i)); Tensor v = f.load("adam.v." + names.get(i))) {
                    optimizer.restore(i, m, v, adamStep);
                }
            return meta;
        }
    }
}
