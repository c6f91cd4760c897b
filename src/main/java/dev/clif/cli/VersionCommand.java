package dev.clif.cli;

import dev.clif.ClifException;
import dev.clif.tensor.Device;
import dev.clif.tensor.NativeLibrary;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** `clif version` / `clif --version`: Clif, libtorch, CUDA, and where the native library came from. */
@Command(name = "version", description = "Print Clif's version, the libtorch it runs on, and whether CUDA is available.")
public final class VersionCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    static String clifVersion() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    static List<String> lines() {
        List<String> out = new ArrayList<>();
        out.add("Clif " + clifVersion());
        try {
            NativeLibrary.load();
            out.add("libtorch " + NativeLibrary.torchVersion());
            int cuda = Device.cudaCount();
            out.add("CUDA: " + (cuda > 0 ? "available (" + cuda + " device" + (cuda == 1 ? "" : "s") + ")" : "not available"));
            out.add("native library: " + NativeLibrary.path());
        } catch (ClifException e) {
            out.add("native library: not loaded: " + e.getMessage());
        }
        out.add("Java " + Runtime.version() + " (" + System.getProperty("java.vm.vendor") + ")");
        return out;
    }

    @Override
    public Integer call() {
        List<String> lines = lines();
        lines.forEach(spec.commandLine().getOut()::println);
        return lines.stream().anyMatch(l -> l.startsWith("native library: not loaded")) ? Main.EXIT_BAD_INPUT : 0;
    }

    public static final class Provider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return lines().toArray(String[]::new);
        }
    }
}
