package dev.clif.serve;

import dev.clif.ClifException;
import dev.clif.io.SafetensorsFile;
import dev.clif.sampling.StableDiffusion;
import dev.clif.model.UNet;
import dev.clif.purge.PurgedModel;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;

import java.nio.file.Path;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One loaded base model and the purged variants served from it. A variant is a delta ({@code delta.safetensors} of
 * a CLIF, ESD or UCE purge: a few cross-attention keys and values); its tensors are held beside the base (no
 * second model) and copied into the UNet for the batches that ask for it, the base's own values being held for the
 * tensors any delta touches so that the base is restored exactly. Every delta is checked against the base at
 * load (format, the base UNet's fingerprint, names, shapes, finite values: {@link PurgedModel#applyDelta}).
 *
 * <p>Not thread-safe: one thread (the batcher's) activates variants and runs the model.
 */
public final class Variants implements AutoCloseable {
    public static final String BASE = "base";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    private final StableDiffusion model;
    private final Path baseDir;
    private final Map<String, Map<String, Tensor>> deltas = new LinkedHashMap<>();
    private final Map<String, Path> deltaFiles = new LinkedHashMap<>();
    private final Map<String, Tensor> baseValues = new LinkedHashMap<>();
    private String active = BASE;

    private Variants(StableDiffusion model, Path baseDir) {
        this.model = model;
        this.baseDir = baseDir;
        deltas.put(BASE, Map.of());
    }

    /** Loads {@code baseDir} once and checks and holds each named delta. */
    public static Variants load(Path baseDir, Map<String, Path> variantDeltas, Device device, DType dtype) {
        for (String name : variantDeltas.keySet()) {
            if (!NAME.matcher(name).matches())
                throw new ClifException("--variant " + name + ": a name is letters, digits, '.', '_' or '-' (at most 64)");
            if (name.equals(BASE)) throw new ClifException("--variant base: 'base' is the unpurged model's name; choose another");
        }
        StableDiffusion sd = StableDiffusion.load(baseDir, device, dtype);
        Variants v = new Variants(sd, baseDir);
        try {
            for (Map.Entry<String, Path> e : variantDeltas.entrySet()) v.add(e.getKey(), e.getValue());
        } catch (RuntimeException e) {
            v.close();
            throw e;
        }
        return v;
    }

    private void add(String name, Path delta) {
        UNet unet = model.unet();
        Set<String> params = new HashSet<>(unet.parameterNames());
        List<String> names;
        try (SafetensorsFile f = SafetensorsFile.open(delta)) {
            names = f.names();
        } catch (RuntimeException e) {
            throw new ClifException("--variant " + name + "=" + delta + ": " + e.getMessage(), e);
        }
        for (String t : names)
            if (params.contains(t) && !baseValues.containsKey(t)) {
                try (Tensor p = unet.parameter(t)) {
                    baseValues.put(t, p.copy().detachFromScope());
                }
            }
        Map<String, Tensor> held = new LinkedHashMap<>();
        try {
            PurgedModel.applyDelta(unet, baseDir, delta); // every check; the tensors land in the UNet
            for (String t : names)
                try (Tensor p = unet.parameter(t)) {
                    held.put(t, p.copy().detachFromScope());
                }
        } catch (RuntimeException e) {
            held.values().forEach(Tensor::close);
            restore(names);
            throw new ClifException("--variant " + name + "=" + delta + ": " + e.getMessage(), e);
        }
        restore(names);
        deltas.put(name, Collections.unmodifiableMap(held));
        deltaFiles.put(name, delta);
    }

    private void restore(List<String> names) {
        for (String t : names) {
            Tensor b = baseValues.get(t);
            if (b != null) model.unet().setParameter(t, b);
        }
    }

    /** Puts {@code name}'s tensors in the UNet (and the base's back where the previous variant had its own). */
    public void activate(String name) {
        Map<String, Tensor> target = deltas.get(name);
        if (target == null) throw new IllegalArgumentException("no variant " + name);
        if (name.equals(active)) return;
        Set<String> touched = new java.util.LinkedHashSet<>(deltas.get(active).keySet());
        touched.addAll(target.keySet());
        for (String t : touched) {
            Tensor v = target.getOrDefault(t, baseValues.get(t));
            model.unet().setParameter(t, v);
        }
        active = name;
    }

    public String active() {
        return active;
    }

    /** Served names, the base first. */
    public List<String> names() {
        return List.copyOf(deltas.keySet());
    }

    public Map<String, Path> deltaFiles() {
        return Collections.unmodifiableMap(deltaFiles);
    }

    /** Number of tensors a variant replaces (0 for the base). */
    public int tensorCount(String name) {
        return deltas.get(name).size();
    }

    /** Bytes held beside the base: every variant's tensors and the base values they replace. */
    public long heldBytes() {
        long b = 0;
        for (Map<String, Tensor> d : deltas.values()) for (Tensor t : d.values()) b += t.byteSize();
        for (Tensor t : baseValues.values()) b += t.byteSize();
        return b;
    }

    public StableDiffusion model() {
        return model;
    }

    public Path baseDir() {
        return baseDir;
    }

    @Override
    public void close() {
        for (Map<String, Tensor> d : deltas.values()) d.values().forEach(Tensor::close);
        baseValues.values().forEach(Tensor::close);
        model.close();
    }
}
