package dev.clif.cli;

import dev.clif.ClifException;
import dev.clif.io.ModelFolder;
import dev.clif.io.SafetensorsFile;
import dev.clif.io.TensorInfo;
import dev.clif.model.ClipModel;
import dev.clif.model.ClipTextEncoder;
import dev.clif.model.UNet;
import dev.clif.model.Vae;
import dev.clif.sampling.Scheduler;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.text.ClipTokenizer;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** `clif inspect PATH`: what a safetensors file or a diffusers model folder holds. Validates everything it reads. */
@Command(name = "inspect", description = "Show the tensors of a safetensors file, or the components of a diffusers model folder.")
public final class InspectCommand implements Callable<Integer> {
    @Parameters(paramLabel = "PATH", description = "a .safetensors file or a diffusers model folder")
    Path path;

    @CommandLine.Option(names = "--all", description = "list every tensor of a folder's components too")
    boolean all;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (Files.isDirectory(path)) {
            inspectFolder(out);
        } else if (Files.isRegularFile(path)) {
            String n = path.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
            if (!n.endsWith(".safetensors") && dev.clif.io.SingleFileCheckpoint.looksLikeSingleFile(path))
                throw dev.clif.io.SingleFileCheckpoint.pickleRefusal(path);
            inspectFile(out, path, true);
            inspectSingleFile(out, path);
        } else {
            throw new ClifException(path + ": no such file or folder");
        }
        out.flush();
        return 0;
    }

    private void inspectFolder(PrintWriter out) {
        ModelFolder folder = ModelFolder.open(path);
        for (ModelFolder.Component c : folder.components()) check(c); // refuse before printing: a bad folder gets one line
        out.println(path + ": " + folder.describe());
        long total = 0;
        for (ModelFolder.Component c : folder.components()) {
            List<Path> weights = c.weightFiles();
            long params = 0;
            long bytes = 0;
            int tensors = 0;
            Map<DType, Long> dtypes = new EnumMap<>(DType.class);
            for (Path w : weights) {
                try (SafetensorsFile f = SafetensorsFile.open(w)) {
                    for (TensorInfo t : f.tensors().values()) {
                        f.requireFinite(t.name());
                        params += t.numel();
                        bytes += t.byteSize();
                        tensors++;
                        dtypes.merge(t.dtype(), t.numel(), Long::sum);
                    }
                }
                if (all) inspectFile(out, w, false);
            }
            total += params;
            out.printf("  %-16s %-28s %s%n", c.name(), c.className(),
                    weights.isEmpty() ? "(no weights)" : String.format("%,d parameters in %d tensors, %s, %s", params, tensors,
                            human(bytes), dtypes.keySet()));
        }
        out.printf("  total: %,d parameters%n", total);
    }

    /**
     * Loads a component the way generate and purge do (config, tokenizer files, scheduler, every tensor against the
     * config, on the CPU) and frees it: what inspect shows is then a folder Clif can run.
     */
    private static void check(ModelFolder.Component c) {
        switch (c.className()) {
            case "UNet2DConditionModel" -> UNet.load(c.dir(), Device.CPU, DType.F32).close();
            case "AutoencoderKL" -> Vae.load(c.dir(), Device.CPU, DType.F32).close();
            case "CLIPTextModel" -> ClipTextEncoder.load(c.dir(), Device.CPU, DType.F32).close();
            case "CLIPModel" -> ClipModel.load(c.dir(), Device.CPU, DType.F32).close();
            case "CLIPTokenizer", "CLIPTokenizerFast" -> ClipTokenizer.load(c.dir());
            case "DDIMScheduler", "PNDMScheduler", "EulerDiscreteScheduler" -> Scheduler.fromFolder(c.dir()).close();
            default -> {
                for (Path w : c.weightFiles())
                    try (SafetensorsFile f = SafetensorsFile.open(w)) {
                        for (String n : f.names()) f.requireFinite(n);
                    }
            }
        }
    }

    private void inspectFile(PrintWriter out, Path file, boolean header) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String n : f.names()) f.requireFinite(n); // refuse before printing: a bad file gets one line
            if (header) out.println(file + ":" + (f.metadata().isEmpty() ? "" : " metadata " + f.metadata()));
            long bytes = 0;
            long params = 0;
            for (TensorInfo t : f.tensors().values()) {
                out.printf("  %-72s %-5s %-18s %,12d bytes%n", t.name(), t.dtype(), Arrays.toString(t.shape()), t.byteSize());
                bytes += t.byteSize();
                params += t.numel();
            }
            out.printf("  %d tensors, %,d elements, %s%n", f.tensors().size(), params, human(bytes));
        }
    }

    /** For a single-file Stable Diffusion checkpoint: its family and what each diffusers component gets from it. */
    private static void inspectSingleFile(PrintWriter out, Path file) {
        boolean sd;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            sd = f.names().stream().anyMatch(x -> x.startsWith(dev.clif.io.SingleFileCheckpoint.UNET_PREFIX));
        }
        if (!sd) return;
        try (dev.clif.io.SingleFileCheckpoint c = dev.clif.io.SingleFileCheckpoint.open(file)) {
            out.println("  single-file Stable Diffusion checkpoint, " + c.family().label + " (use it as --model " + file.getFileName() + "):");
            for (String comp : c.components()) {
                long params = 0;
                for (var e : c.component(comp)) params += Arrays.stream(e.shape()).reduce(1, (a, b) -> a * b);
                out.printf("  %-16s %,d parameters in %d tensors (diffusers names)%n", comp, params, c.component(comp).size());
            }
            if (!c.skipped().isEmpty()) out.println("  not used: " + c.skipped().size() + " tensors, e.g. " + c.skipped().get(0));
        }
    }

    static String human(long bytes) {
        if (bytes < 1024) return bytes + " B";
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format("%.1f %s", v, units[u]);
    }
}
