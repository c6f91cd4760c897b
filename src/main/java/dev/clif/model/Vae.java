package dev.clif.model;

import dev.clif.ClifException;
import dev.clif.ffi.clif_h;
import dev.clif.io.SafetensorsFile;
import dev.clif.io.TensorInfo;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.NativeLibrary;
import dev.clif.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * diffusers' {@code AutoencoderKL}. {@link #decode} takes latents already divided by
 * {@link #scalingFactor()} (as diffusers' {@code vae.decode}); {@link #encode} returns the posterior's
 * mean and logvar. Checkpoints with the legacy attention names (query/key/value/proj_attn) load too:
 * they are renamed to to_q/to_k/to_v/to_out.0, the only renaming Clif does.
 */
public final class Vae extends NativeModule {
    private static final Pattern LEGACY = Pattern.compile("(.*\\.attentions\\.\\d+)\\.(query|key|value|proj_attn)\\.(weight|bias)");
    private static final Map<String, String> LEGACY_PART = Map.of("query", "to_q", "key", "to_k", "value", "to_v", "proj_attn", "to_out.0");

    private final VaeConfig config;

    private Vae(MemorySegment out, VaeConfig config) {
        super(out);
        this.config = config;
    }

    public static Vae create(VaeConfig config) {
        NativeLibrary.load();
        try (Arena arena = Arena.ofConfined()) {
            byte[] json = config.toNativeJson().getBytes(StandardCharsets.UTF_8);
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_vae_new(arena.allocateFrom(ValueLayout.JAVA_BYTE, json), json.length, out));
            return new Vae(out, config);
        }
    }

    /** Loads a VAE folder (config.json + diffusion_pytorch_model.safetensors or shards). */
    public static Vae load(Path dir, Device device, DType dtype) {
        VaeConfig config = VaeConfig.read(dir.resolve("config.json"));
        double atLeast = 0; // every resnet of the encoder and the decoder has a 3x3 convolution c_i -> c_i
        for (int c : config.blockOutChannels()) atLeast += 2.0 * config.layersPerBlock() * 9 * (double) c * c;
        requireWeightsHold(dir, atLeast, "'block_out_channels' and 'layers_per_block'");
        return prepare(create(config), device, dtype, m -> m.loadFolder(dir, Set.of()));
    }

    public static Vae random(VaeConfig config, long seed, Device device, DType dtype) {
        return prepare(create(config), device, dtype, m -> ClipTextEncoder.initRandom(m, seed));
    }

    public VaeConfig config() {
        return config;
    }

    public double scalingFactor() {
        return config.scalingFactor();
    }

    /** The new diffusers name of a legacy attention tensor name, or the name itself. */
    public static String modernName(String name) {
        Matcher m = LEGACY.matcher(name);
        if (!m.matches()) return name;
        return m.group(1) + "." + LEGACY_PART.get(m.group(2)) + "." + m.group(3);
    }

    /**
     * As {@link NativeModule#loadWeights}, with legacy attention names renamed first. Names in
     * {@code ignorable} are skipped in the files (neither loaded nor reported as unexpected).
     */
    @Override
    public void loadWeights(Collection<SafetensorsFile> files, Set<String> ignorable) {
        record Source(SafetensorsFile file, String name) {}
        Map<String, Source> source = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        for (SafetensorsFile f : files)
            for (String n : f.names()) {
                if (ignorable.contains(n)) continue;
                String target = modernName(n);
                Source prev = source.putIfAbsent(target, new Source(f, n));
                if (prev != null)
                    problems.add("tensor '" + target + "' is given twice: as '" + prev.name() + "' in " + prev.file().path()
                            + " and as '" + n + "' in " + f.path());
            }
        Set<String> expected = new TreeSet<>(parameterNames());
        Set<String> missing = new TreeSet<>(expected);
        missing.removeAll(source.keySet());
        Set<String> unexpected = new TreeSet<>(source.keySet());
        unexpected.removeAll(expected);
        if (!missing.isEmpty()) problems.add("missing tensors: " + summarize(missing));
        if (!unexpected.isEmpty()) problems.add("unexpected tensors: " + summarize(unexpected));
        for (String name : parameterNames()) {
            Source s = source.get(name);
            if (s == null) continue;
            String label = s.name().equals(name) ? "'" + name + "'" : "'" + s.name() + "' (loaded as '" + name + "')";
            TensorInfo info = s.file().info(s.name());
            long[] want;
            try (Tensor p = parameter(name)) {
                want = p.shape();
            }
            if (!Arrays.equals(want, info.shape())) {
                problems.add("tensor " + label + " in " + s.file().path() + " has shape " + Arrays.toString(info.shape())
                        + " but the model's config needs " + Arrays.toString(want));
                continue;
            }
            if (!info.dtype().floating) {
                problems.add("tensor " + label + " in " + s.file().path() + " is " + info.dtype() + ", not a floating-point weight");
                continue;
            }
            if (!problems.isEmpty()) continue;
            s.file().requireFinite(s.name());
            try (Tensor t = s.file().load(s.name())) {
                setParameter(name, t);
            }
        }
        if (!problems.isEmpty()) {
            String where = files.size() == 1 ? files.iterator().next().path().toString() : files.size() + " files";
            throw new ClifException("cannot load Vae weights from " + where + ": " + String.join("; ", problems));
        }
    }

    private static String summarize(Set<String> names) {
        List<String> list = new ArrayList<>(names);
        if (list.size() <= 8) return String.join(", ", list);
        return String.join(", ", list.subList(0, 8)) + " and " + (list.size() - 8) + " more";
    }

    /** Images (nominally [-1, 1], not clamped) from latents already divided by the scaling factor. */
    public Tensor decode(Tensor latents, boolean grad) {
        long[] s = latents.shape();
        if (s.length != 4 || s[0] == 0 || s[1] != config.latentChannels())
            throw new IllegalArgumentException("latents must be [batch, " + config.latentChannels() + ", h, w], got " + Arrays.toString(s));
        if (!latents.dtype().floating) throw new IllegalArgumentException("latents must be floating point, got " + latents.dtype());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_vae_decode(handle(), latents.handle(), grad ? 1 : 0, out));
            return Tensor.adopt(out);
        }
    }

    /** The diagonal Gaussian posterior of {@link #encode}: mean and logvar (clamped to [-30, 20]). */
    public record Posterior(Tensor mean, Tensor logvar) implements AutoCloseable {
        @Override
        public void close() {
            mean.close();
            logvar.close();
        }
    }

    /** Images in [-1, 1] [batch, in_channels, h, w] (h, w multiples of the downscale factor). */
    public Posterior encode(Tensor images, boolean grad) {
        long[] s = images.shape();
        int f = config.downscaleFactor();
        if (s.length != 4 || s[0] == 0 || s[1] != config.inChannels() || s[2] % f != 0 || s[3] % f != 0)
            throw new IllegalArgumentException("images must be [batch, " + config.inChannels() + ", h, w] with h and w multiples of "
                    + f + ", got " + Arrays.toString(s));
        if (!images.dtype().floating) throw new IllegalArgumentException("images must be floating point, got " + images.dtype());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mean = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment logvar = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_vae_encode(handle(), images.handle(), grad ? 1 : 0, mean, logvar));
            return new Posterior(Tensor.adopt(mean), Tensor.adopt(logvar));
        }
    }
}
