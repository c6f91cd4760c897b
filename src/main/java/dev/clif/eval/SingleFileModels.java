package dev.clif.eval;

import dev.clif.ClifException;
import dev.clif.AtomicFile;
import dev.clif.io.Sha256;
import dev.clif.io.SingleFileCheckpoint;
import dev.clif.io.SingleFileView;
import dev.clif.shapes.ShippedModels;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A single-file checkpoint ({@code FILE.safetensors}, the A1111/ComfyUI layout) as a diffusers folder every Clif
 * loader takes, without a copy of its weights: the folder holds the configs, tokenizer and scheduler, and for each of
 * unet/, vae/, text_encoder/ a {@link SingleFileView} marker in place of the weights (read as views of the mapped
 * file). The folder lies in Clif's cache, named by the file's SHA-256 and the config source, and is made once.
 *
 * <p>The configs: from {@code --config DIR} (any diffusers Stable Diffusion folder: its model_index.json,
 * scheduler/, tokenizer/ and the three config.json; its weights are not read), or, without it, the standard ones
 * of the family the keys show: SD 1.x (runwayml/stable-diffusion-v1-5's configs, PNDM) for a 768-wide CLIP text
 * encoder and a 320-channel UNet, SD 2.x (stabilityai/stable-diffusion-2-1's: 768-v, v_prediction, DDIM) for a
 * 1024-wide OpenCLIP one, SDXL (stabilityai/stable-diffusion-xl-base-1.0's: two text encoders, Euler, the SDXL VAE)
 * for a 768-wide CLIP-L with a 1280-wide, 32-layer OpenCLIP bigG and a 2048-wide cross-attention. Anything else needs
 * {@code --config}. The tokenizer is the CLIP BPE the shapes world ships (SDXL's second pads with "!").
 */
public final class SingleFileModels {
    private static final String RESOURCES = "/dev/clif/eval/singlefile/";
    static final List<String> CONFIG_FILES = List.of("model_index.json", "unet/config.json", "vae/config.json",
            "text_encoder/config.json", "scheduler/scheduler_config.json", "tokenizer/tokenizer_config.json",
            "tokenizer/special_tokens_map.json", "tokenizer/vocab.json", "tokenizer/merges.txt");
    static final List<String> XL_CONFIG_FILES = java.util.stream.Stream.concat(CONFIG_FILES.stream(), java.util.stream.Stream.of(
            "text_encoder_2/config.json", "tokenizer_2/tokenizer_config.json", "tokenizer_2/special_tokens_map.json",
            "tokenizer_2/vocab.json", "tokenizer_2/merges.txt")).toList();

    private SingleFileModels() {}

    /** The loadable folder for {@code file}, with configs from {@code configDir} (null: the family's standard ones). */
    public static Path folder(Path file, Path configDir) {
        if (!Files.isRegularFile(file)) throw new ClifException(file + ": no such file");
        String family;
        long size;
        List<String> components, configFiles;
        try (SingleFileCheckpoint ckpt = SingleFileCheckpoint.open(file)) {
            family = configDir != null ? null : standardFamily(ckpt);
            size = Files.size(file);
            components = ckpt.components();
            configFiles = ckpt.family() == SingleFileCheckpoint.Family.XL ? XL_CONFIG_FILES : CONFIG_FILES;
        } catch (IOException e) {
            throw new ClifException(file + ": cannot read: " + e.getMessage(), e);
        }
        if (configDir != null) checkConfigFolder(configDir, configFiles);
        String sha = sha256Known(file);
        String configKey = configDir != null ? "config-" + Sha256.of(configFiles.stream().map(f -> configSource(configDir, f)).toList()).substring(0, 16) : family;
        Path dir = SingleFileView.cacheRoot().resolve(sha.substring(0, 32) + "-" + configKey);
        if (Files.isRegularFile(dir.resolve("model_index.json"))) return dir;
        Path tmp = dir.resolveSibling("." + dir.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        try {
            deleteTree(tmp);
            for (String f : configFiles) {
                Path dst = tmp.resolve(f);
                Files.createDirectories(dst.getParent());
                if (configDir != null) Files.copy(configSource(configDir, f), dst);
                else Files.write(dst, builtin(family, f));
            }
            for (String c : components)
                SingleFileView.writeMarker(tmp.resolve(c).resolve(SingleFileCheckpoint.weightFileName(c) + ".view.json"), c, sha, size);
            Files.writeString(tmp.resolve("SOURCE"), file.toAbsolutePath().normalize() + "\n" + (configDir == null ? "standard " + family
                    : "configs from " + configDir.toAbsolutePath().normalize()) + "\n", StandardCharsets.UTF_8);
            try {
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                if (!Files.isRegularFile(dir.resolve("model_index.json"))) throw e; // else another process made it first
            }
        } catch (IOException e) {
            throw new ClifException(file + ": cannot prepare its model folder in " + dir.getParent() + ": " + e.getMessage(), e);
        } finally {
            try {
                deleteTree(tmp);
            } catch (IOException ignored) {
                // hidden, named after this process
            }
        }
        return dir;
    }

    /** The file's SHA-256, computed once per (path, size, modification time) and registered for its views. */
    private static String sha256Known(Path file) {
        Path abs = file.toAbsolutePath().normalize();
        Path index = SingleFileView.cacheRoot().resolve("by-path").resolve(Sha256.of(abs.toString().getBytes(StandardCharsets.UTF_8)) + ".txt");
        try {
            String stamp = Files.size(abs) + " " + Files.getLastModifiedTime(abs).toMillis();
            if (Files.isRegularFile(index)) {
                String[] lines = Files.readString(index).split("\n");
                if (lines.length >= 2 && lines[0].equals(stamp) && SingleFileView.registered(lines[1]) != null) return lines[1];
            }
            String sha = Sha256.of(abs);
            SingleFileView.register(abs, sha);
            AtomicFile.writeBytes(index, (stamp + "\n" + sha + "\n").getBytes(StandardCharsets.UTF_8));
            return sha;
        } catch (IOException e) {
            throw new ClifException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** "sd1" or "sd2" when the file has that family's standard widths; otherwise the refusal asks for --config. */
    static String standardFamily(SingleFileCheckpoint ckpt) {
        long text = ckpt.textHiddenSize(), ctx = ckpt.crossAttentionDim(), base = ckpt.unetBaseChannels();
        boolean linear = ckpt.unetLinearProjection();
        String found = ckpt.family().label + " with a " + text + "-wide text encoder of " + ckpt.textLayers() + " layers, UNet "
                + base + " channels, cross-attention " + ctx + (linear ? ", linear projections" : ", conv projections");
        if (ckpt.family() == SingleFileCheckpoint.Family.SD1 && text == 768 && ctx == 768 && base == 320 && !linear
                && ckpt.textLayers() == 12) return "sd1";
        if (ckpt.family() == SingleFileCheckpoint.Family.SD2 && text == 1024 && ctx == 1024 && base == 320 && linear
                && ckpt.textLayers() >= 23) return "sd2";
        long[] text2 = ckpt.text2Shape();
        if (ckpt.family() == SingleFileCheckpoint.Family.XL && text == 768 && ckpt.textLayers() == 12 && text2[0] == 1280
                && text2[1] == 32 && ctx == 2048 && base == 320 && linear) return "sdxl";
        if (ckpt.family() == SingleFileCheckpoint.Family.XL)
            found += ", second text encoder " + text2[0] + " wide with " + text2[1] + " layers";
        throw new ClifException(ckpt.path() + ": not a standard SD 1.x/2.x/XL architecture (" + found
                + "): pass --config DIR, a diffusers folder with this model's configs, tokenizer and scheduler");
    }

    private static void checkConfigFolder(Path dir, List<String> files) {
        if (!Files.isDirectory(dir)) throw new ClifException("--config " + dir + ": not a folder");
        for (String f : files)
            if (!Files.isRegularFile(configSource(dir, f)))
                throw new ClifException("--config " + dir + ": no " + f + " (a diffusers Stable Diffusion folder has it)");
    }

    /** A config file of {@code dir}, its tokenizer folders followed when they are link files (ModelFolder.componentDir). */
    private static Path configSource(Path dir, String file) {
        int slash = file.indexOf('/');
        if (slash < 0) return dir.resolve(file);
        return dev.clif.io.ModelFolder.componentDir(dir, file.substring(0, slash)).resolve(file.substring(slash + 1));
    }

    static byte[] builtin(String family, String file) throws IOException {
        if (file.endsWith("/vocab.json") || file.endsWith("/merges.txt")) // the real CLIP BPE, for both tokenizers
            return Files.readAllBytes(ShippedModels.folder().resolve("sd").resolve("tokenizer").resolve(file.substring(file.indexOf('/') + 1)));
        try (InputStream in = SingleFileModels.class.getResourceAsStream(RESOURCES + family + "/" + file)) {
            if (in == null) throw new ClifException("this Clif build lacks its standard " + family + " config " + file);
            return in.readAllBytes();
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }

    /** Whether a model spec's base names a single file rather than a folder or alias. */
    public static boolean isSingleFile(String spec) {
        return SingleFileCheckpoint.looksLikeSingleFile(Path.of(spec));
    }

    /** For messages: the folder a single-file base became. */
    public static String describe(Path folder) {
        Path source = folder.resolve("SOURCE");
        if (!Files.isRegularFile(source)) return folder.toString();
        try {
            return Files.readString(source).lines().findFirst().orElse(folder.toString());
        } catch (IOException e) {
            return folder.toString();
        }
    }
}
