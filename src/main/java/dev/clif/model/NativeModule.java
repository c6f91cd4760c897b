package dev.clif.model;

import dev.clif.ClifException;
import dev.clif.ffi.clif_h;
import dev.clif.io.ModelFolder;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * A native model (UNet, CLIP, VAE, ...) seen from Java: a handle owning named parameters. Subclasses add
 * the forward calls of their family. Parameters carry the exact checkpoint names, so
 * {@link #loadWeights} fills them by name and reports every missing, unexpected or mis-shaped tensor.
 */
public abstract class NativeModule implements AutoCloseable {
    private MemorySegment handle;
    private List<String> names;
    private Device device = Device.CPU;
    private DType dtype = DType.F32;

    /** Takes ownership of the handle a constructor call returned through {@code out}. */
    protected NativeModule(MemorySegment out) {
        this.handle = out.get(ValueLayout.ADDRESS, 0);
        if (handle.equals(MemorySegment.NULL)) throw new ClifException("native call returned no module");
    }

    public MemorySegment handle() {
        if (handle == null) throw new IllegalStateException(getClass().getSimpleName() + " is closed");
        return handle;
    }

    public Device device() {
        return device;
    }

    public DType dtype() {
        return dtype;
    }

    /** Parameter names in registration order. */
    public List<String> parameterNames() {
        if (names == null) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment count = arena.allocate(ValueLayout.JAVA_LONG);
                NativeLibrary.check(clif_h.clif_module_param_count(handle(), count));
                long n = count.get(ValueLayout.JAVA_LONG, 0);
                List<String> list = new ArrayList<>((int) n);
                MemorySegment len = arena.allocate(ValueLayout.JAVA_LONG);
                MemorySegment buf = arena.allocate(512);
                for (long i = 0; i < n; i++) {
                    NativeLibrary.check(clif_h.clif_module_param_name(handle(), i, buf, buf.byteSize(), len));
                    long l = len.get(ValueLayout.JAVA_LONG, 0);
                    if (l > buf.byteSize()) {
                        buf = arena.allocate(l);
                        NativeLibrary.check(clif_h.clif_module_param_name(handle(), i, buf, buf.byteSize(), len));
                    }
                    list.add(new String(buf.asSlice(0, l).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8));
                }
                names = Collections.unmodifiableList(list);
            }
        }
        return names;
    }

    /** A tensor sharing the parameter's storage (close it when done). */
    public Tensor parameter(String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment n = arena.allocateFrom(name);
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_module_param_get(handle(), n, n.byteSize() - 1, out));
            return Tensor.adopt(out);
        }
    }

    /** Copies {@code value} into the parameter; shapes must match. */
    public void setParameter(String name, Tensor value) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment n = arena.allocateFrom(name);
            NativeLibrary.check(clif_h.clif_module_param_set(handle(), n, n.byteSize() - 1, value.handle()));
        }
    }

    public void setRequiresGrad(String name, boolean requiresGrad) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment n = arena.allocateFrom(name);
            NativeLibrary.check(clif_h.clif_module_set_requires_grad(handle(), n, n.byteSize() - 1, requiresGrad ? 1 : 0));
        }
    }

    /** The parameter's accumulated gradient (fails when it has none). */
    public Tensor gradient(String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment n = arena.allocateFrom(name);
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_module_param_grad(handle(), n, n.byteSize() - 1, out));
            return Tensor.adopt(out);
        }
    }

    public void zeroGrad() {
        NativeLibrary.check(clif_h.clif_module_zero_grad(handle()));
    }

    /** Moves and casts every parameter, in place. */
    public void to(Device device, DType dtype) {
        NativeLibrary.check(clif_h.clif_module_to(handle(), device.index(), dtype.code));
        this.device = device;
        this.dtype = dtype;
    }

    /** Number of scalar parameters. */
    public long parameterCount() {
        long total = 0;
        for (String n : parameterNames()) {
            try (Tensor p = parameter(n)) {
                total += p.numel();
            }
        }
        return total;
    }

    /**
     * Fills every parameter from the files (a model may be sharded over several). Every parameter must
     * be present exactly once with the right shape, every tensor in the files must be a parameter
     * (except {@code ignorable} names, e.g. buffers older checkpoints carry), and no weight may be NaN
     * or infinite. All problems are collected and reported together, naming the tensors.
     */
    public void loadWeights(Collection<SafetensorsFile> files, Set<String> ignorable) {
        Map<String, SafetensorsFile> source = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        for (SafetensorsFile f : files)
            for (String n : f.names()) {
                SafetensorsFile prev = source.putIfAbsent(n, f);
                if (prev != null) problems.add("tensor '" + n + "' is in both " + prev.path() + " and " + f.path());
            }
        Set<String> expected = new TreeSet<>(parameterNames());
        Set<String> missing = new TreeSet<>(expected);
        missing.removeAll(source.keySet());
        Set<String> unexpected = new TreeSet<>(source.keySet());
        unexpected.removeAll(expected);
        unexpected.removeAll(ignorable);
        if (!missing.isEmpty()) problems.add("missing tensors: " + summarize(missing));
        if (!unexpected.isEmpty()) problems.add("unexpected tensors: " + summarize(unexpected));
        for (String name : parameterNames()) {
            SafetensorsFile f = source.get(name);
            if (f == null) continue;
            TensorInfo info = f.info(name);
            long[] want;
            try (Tensor p = parameter(name)) {
                want = p.shape();
            }
            if (!Arrays.equals(want, info.shape())) {
                problems.add("tensor '" + name + "' in " + f.path() + " has shape " + Arrays.toString(info.shape())
                        + " but the model's config needs " + Arrays.toString(want));
                continue;
            }
            if (!info.dtype().floating) {
                problems.add("tensor '" + name + "' in " + f.path() + " is " + info.dtype() + ", not a floating-point weight");
                continue;
            }
            if (!problems.isEmpty()) continue; // keep validating shapes, but do not copy into a model that will fail
            f.requireFinite(name);
            try (Tensor t = f.load(name)) {
                setParameter(name, t);
            }
        }
        if (!problems.isEmpty()) {
            String where = files.size() == 1 ? files.iterator().next().path().toString() : files.size() + " files";
            throw new ClifException("cannot load " + getClass().getSimpleName() + " weights from " + where + ": "
                    + String.join("; ", problems));
        }
    }

    /**
     * Fills the parameters from a component folder's safetensors weights (one file, or the shards of a
     * {@code *.safetensors.index.json}; pickled weights are refused, see {@link ModelFolder#weightFiles}).
     */
    public void loadFolder(Path dir, Set<String> ignorable) {
        if (!Files.isDirectory(dir)) throw new ClifException(dir + ": not a folder");
        List<Path> paths = ModelFolder.weightFiles(dir);
        if (paths.isEmpty()) throw new ClifException(dir + ": no *.safetensors weights in this folder");
        List<SafetensorsFile> files = new ArrayList<>();
        try {
            for (Path p : paths) files.add(SafetensorsFile.open(p));
            loadWeights(files, ignorable);
        } finally {
            for (SafetensorsFile f : files) f.close();
        }
    }

    /**
     * Refuses, before anything is allocated, a config that describes a model larger than the weights beside it: the
     * weights must hold every parameter, so a config needing at least {@code atLeast} parameters (a lower bound the
     * caller computes from its fields) cannot fit files holding fewer. This is what keeps a hostile or mistaken config
     * (channels or layers in the millions) from allocating terabytes or building modules for hours.
     */
    static void requireWeightsHold(Path dir, double atLeast, String fields) {
        if (!Files.isDirectory(dir)) throw new ClifException(dir + ": not a folder");
        long held = 0;
        for (Path p : ModelFolder.weightFiles(dir))
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                for (TensorInfo t : f.tensors().values()) held += t.numel();
            }
        if (atLeast > held)
            throw new ClifException(dir.resolve("config.json") + ": " + fields + " describe a model of at least "
                    + String.format("%,.0f", atLeast) + " parameters, but the weights hold " + String.format("%,d", held)
                    + " (the config does not describe these weights)");
    }

    /** Runs {@code fill} on a freshly created module, then moves it to {@code device}/{@code dtype}; closes it on failure. */
    protected static <M extends NativeModule> M prepare(M module, Device device, DType dtype, Consumer<M> fill) {
        try {
            fill.accept(module);
            if (!device.equals(module.device()) || dtype != module.dtype()) module.to(device, dtype);
            return module;
        } catch (RuntimeException e) {
            module.close();
            throw e;
        }
    }

    private static String summarize(Set<String> names) {
        List<String> list = new ArrayList<>(names);
        if (list.size() <= 8) return String.join(", ", list);
        return String.join(", ", list.subList(0, 8)) + " and " + (list.size() - 8) + " more";
    }

    @Override
    public void close() {
        if (handle != null) {
            clif_h.clif_module_free(handle);
            handle = null;
        }
    }
}
