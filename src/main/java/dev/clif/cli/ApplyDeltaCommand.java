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

    @Option(names = "--model", required = true, description = "the base the delta was made from: a diffusers folder, 'shapes', or a single-file FILE.safetensors")
    Path model;

    @Option(names = "--config", description = "for a single-file --model: a diffusers folder with its configs, tokenizer and scheduler")
    Path config;

    @Option(names = "--delta", required = true, description = "delta.safetensors written by clif purge")
    Path delta;

    @Option(names = "--out", required = true, description = "folder to write (must not exist or be empty)")
    Path out;

    @Override
    public Integer call() {
        PurgedModel.applyDelta(dev.clif.eval.ModelAliases.resolve(model.toString(), config), delta, out);
        spec.commandLine().getOut().println("wrote " + out);
        return 0;
    }
}
