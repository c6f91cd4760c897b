package dev.clif.cli;

import dev.clif.ClifException;
import dev.clif.eval.EvalPrompt;
import dev.clif.eval.PromptSetReader;
import dev.clif.shapes.Colour;
import dev.clif.shapes.bench.ShapesBench;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code clif shapes prompts}: the shapes bench's categorized prompt set as an I2P-format CSV, for {@code clif eval}. */
@Command(name = "prompts", description = {
        "Write the categorized shapes prompt set of a SOURCE=>TARGET purge as an I2P-format CSV: category SOURCE for the",
        "prompts naming the purged colour, TARGET for the target's single shapes, 'other' for the other colours'.",
        "Then e.g.: clif eval --prompts FILE --model base=shapes --model clif=shapes+PURGED/delta.safetensors --scorer shapes-colour=red"})
public final class ShapesPromptsCommand implements Callable<Integer> {
    @Option(names = "--concept", defaultValue = "red=>blue", description = "SOURCE=>TARGET colours (default: ${DEFAULT-VALUE})")
    String concept;

    @Option(names = "--seed", defaultValue = "0", description = "prompt i gets seed SEED*1000003+i (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--guidance", defaultValue = "5", description = "every prompt's guidance scale (default: ${DEFAULT-VALUE}, the bench's)")
    double guidance;

    @Option(names = "--out", required = true, description = "CSV file to write")
    Path out;

    @Override
    public Integer call() {
        String[] parts = concept.split("=>", -1);
        if (parts.length != 2) throw new ClifException("--concept must look like red=>blue, got '" + concept + "'");
        Colour source = ShapesBenchCommand.colour(parts[0]);
        Colour target = ShapesBenchCommand.colour(parts[1]);
        if (source == target) throw new ClifException("the concept's source and target colours are the same: " + source.word());
        List<EvalPrompt> prompts = ShapesBench.promptSet(source, target, seed, guidance);
        PromptSetReader.writeI2pCsv(out, prompts);
        System.err.println("wrote " + prompts.size() + " prompts to " + out);
        return 0;
    }
}
