package dev.clif.cli;

import dev.clif.golden.Comparison;
import dev.clif.golden.GoldenRunner;
import dev.clif.tensor.Device;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** `clif check-golden DIR`: runs every reference case of a golden directory and prints PASS/FAIL per tensor. */
@Command(name = "check-golden", description = "Run every case in DIR/cases/*.json against the model folder it names; exit 0 only if all pass.")
public final class CheckGoldenCommand implements Callable<Integer> {
    @Parameters(paramLabel = "DIR", description = "a folder laid out like shared/golden (cases/ and model folders)")
    Path dir;

    @CommandLine.Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda:N (tolerances x10 on CUDA)")
    String device;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Device d = Device.parse(device).check();
        int pass = 0;
        int fail = 0;
        for (GoldenRunner.Result r : GoldenRunner.standard().runAll(dir, d)) {
            List<Comparison> cs = r.comparisons();
            for (Comparison c : cs) {
                out.println(c.line(r.caseName()));
                if (c.pass()) pass++;
                else fail++;
            }
            out.flush();
        }
        out.println(pass + " passed, " + fail + " failed");
        return fail == 0 && pass > 0 ? 0 : 1;
    }
}
