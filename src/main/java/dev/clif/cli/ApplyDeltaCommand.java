package dev.clif.cli;

import dev.clif.purge.PurgedModel;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** `clif apply-delta`: rebuild a purged model folder from its base and the delta a purge wrote. */
@Command(name = "apply-delta", description = "Rebuild a purged diffusers folder from the base model and a delta.safetensors.")
public final class ApplyDeltaCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, description = "the base diffusers Stable Diffusion folder the delta was made from")
    Path model;

    @Option(names = "--delta", required = true, description = "delta.safetensors written by clif purge")
    Path delta;

    @Option(names = "--out", required = true, description = "folder to write (must not exist or be empty)")
    Path out;

    @Override
    public Integer call() {
        PurgedModel.applyDelta(model, delta, out);
        spec.commandLine().getOut().println("wrote " + out);
        return 0;
    }
}
