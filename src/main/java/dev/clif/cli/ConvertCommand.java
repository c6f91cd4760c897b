package dev.clif.cli;

import dev.clif.ClifException;
import dev.clif.eval.ModelAliases;
import dev.clif.io.ModelFolder;
import dev.clif.io.SafetensorsFile;
import dev.clif.io.SafetensorsWriter;
import dev.clif.io.SingleFileCheckpoint;
import dev.clif.model.Vae;
import dev.clif.purge.PurgedModel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * `clif convert`: between diffusers folders and the original single-file layout A1111 and ComfyUI load.
 * {@code --to-single-file FILE} writes exactly the tensors diffusers 0.25.1's
 * {@code convert_diffusers_to_original_stable_diffusion.py} writes (names, shapes, values; fp32 as the folder holds
 * it), from a folder or BASE+DELTA (a purge's delta applied first); {@code --to-folder DIR} writes the diffusers
 * folder of a single file (configs from {@code --config} or the family's standard ones). Both written atomically.
 */
@Command(name = "convert", description = "Convert a model between a diffusers folder and a single-file checkpoint (A1111/ComfyUI layout).")
public final class ConvertCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true,
            description = "a diffusers folder, 'shapes', BASE+DELTA (a purge's delta.safetensors), or a single-file FILE.safetensors")
    String model;

    @Option(names = "--config", description = "for a single-file --model: a diffusers folder with its configs, tokenizer and scheduler")
    Path config;

    static final class Target {
        @Option(names = "--to-single-file", required = true, description = "the .safetensors file to write")
        Path singleFile;

        @Option(names = "--to-folder", required = true, description = "the diffusers folder to write (must not exist or be empty)")
        Path folder;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Target target;

    @Override
    public Integer call() {
        if (target.singleFile != null) {
            if (!target.singleFile.getFileName().toString().endsWith(".safetensors"))
                throw new ClifException("--to-single-file must name a .safetensors file, got " + target.singleFile);
            int n = toSingleFile(resolveWithDelta(model, config), target.singleFile);
            spec.commandLine().getOut().println("wrote " + target.singleFile + " (" + n + " tensors)");
        } else {
            if (!SingleFileCheckpoint.looksLikeSingleFile(Path.of(model)))
                throw new ClifException("--to-folder converts a single-file checkpoint; " + model + " is not a .safetensors file");
            toFolder(ModelAliases.resolve(model, config), target.folder);
            spec.commandLine().getOut().println("wrote " + target.folder);
        }
        return 0;
    }

    /** The base folder, with a delta applied into a temporary folder when the spec names one (deleted on exit). */
    private static Path resolveWithDelta(String spec, Path config) {
        int plus = spec.lastIndexOf('+');
        if (plus <= 0 || Files.isDirectory(Path.of(spec))) return ModelAliases.resolve(spec, config);
        Path base = ModelAliases.resolve(spec.substring(0, plus).trim(), config);
        Path delta = Path.of(spec.substring(plus + 1).trim());
        try {
            Path tmp = Files.createTempDirectory("clif-convert-");
            Path purged = tmp.resolve("model");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteQuietly(tmp)));
            PurgedModel.applyDelta(base, delta, purged);
            return purged;
        } catch (IOException e) {
            throw new ClifException("cannot make a temporary folder for the purged model: " + e.getMessage(), e);
        }
    }

    /** Writes the single file of a diffusers folder; returns the number of tensors. */
    public static int toSingleFile(Path folder, Path out) {
        List<SafetensorsFile> open = new ArrayList<>();
        try {
            List<List<SafetensorsWriter.Entry>> comps = new ArrayList<>();
            boolean xl = dev.clif.sampling.StableDiffusion.isXlFolder(folder);
            for (String c : xl ? SingleFileCheckpoint.XL_COMPONENTS : SingleFileCheckpoint.COMPONENTS) {
                Path dir = folder.resolve(c);
                if (!Files.isDirectory(dir)) throw new ClifException(folder + ": not a Stable Diffusion folder: no " + c + "/");
                List<Path> files = ModelFolder.weightFiles(dir);
                if (files.isEmpty()) throw new ClifException(dir + ": no *.safetensors weights");
                List<SafetensorsWriter.Entry> entries = new ArrayList<>();
                for (Path p : files) {
                    SafetensorsFile f = SafetensorsFile.open(p);
                    open.add(f);
                    for (SafetensorsWriter.Entry e : SafetensorsWriter.entries(f))
                        entries.add(c.equals("vae") ? new SafetensorsWriter.Entry(Vae.modernName(e.name()), e.dtype(), e.shape(), e.data()) : e);
                }
                comps.add(entries);
            }
            List<SafetensorsWriter.Entry> single = SingleFileCheckpoint.toSingleFile(comps.get(0), comps.get(1), comps.get(2),
                    xl ? comps.get(3) : null);
            SafetensorsWriter.write(out, single, Map.of());
            return single.size();
        } finally {
            for (SafetensorsFile f : open) f.close();
        }
    }

    /** Writes {@code viewFolder} (a single file's folder of views) as a plain diffusers folder {@code out}. */
    public static void toFolder(Path viewFolder, Path out) {
        Path abs = out.toAbsolutePath().normalize();
        try {
            if (Files.exists(abs) && (!Files.isDirectory(abs) || hasFiles(abs)))
                throw new ClifException(out + " exists and is not empty: choose a new --to-folder");
            Path tmp = abs.resolveSibling("." + abs.getFileName() + ".tmp-" + ProcessHandle.current().pid());
            deleteQuietly(tmp);
            try (Stream<Path> s = Files.walk(viewFolder)) {
                for (Path f : s.filter(Files::isRegularFile).sorted().toList()) {
                    Path rel = viewFolder.relativize(f);
                    String name = f.getFileName().toString();
                    if (name.equals("SOURCE")) continue;
                    Path dst = tmp.resolve(rel.toString());
                    Files.createDirectories(dst.getParent());
                    if (name.endsWith(dev.clif.io.SingleFileView.SUFFIX)) {
                        Path weights = dst.resolveSibling(name.substring(0, name.length() - ".view.json".length()));
                        try (SafetensorsFile view = SafetensorsFile.open(f)) {
                            SafetensorsWriter.write(weights, SafetensorsWriter.entries(view), Map.of("format", "pt"));
                        }
                    } else {
                        Files.copy(f, dst);
                    }
                }
            }
            Files.deleteIfExists(abs);
            Files.createDirectories(abs.getParent());
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                Files.move(tmp, abs);
            }
        } catch (IOException e) {
            throw new ClifException(out + ": cannot write: " + e.getMessage(), e);
        }
    }

    private static boolean hasFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isPresent();
        }
    }

    private static void deleteQuietly(Path p) {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        } catch (IOException ignored) {
            // a temporary folder; nothing else to do
        }
    }
}
