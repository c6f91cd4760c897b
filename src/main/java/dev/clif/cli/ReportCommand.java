package dev.clif.cli;

import dev.clif.eval.report.ReportWriter;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code clif report OUT...}: rebuild report.html of evaluations from their folders, generating nothing. */
@Command(name = "report", description = {
        "Rebuild OUT/report.html (charts and grids in OUT/report/) from an evaluation's manifest.json, results.jsonl and",
        "summary.json, without generating: the flagged share per category with 95% intervals, the preservation table",
        "(CLIP score, FID, KID), labelled image grids (flagged images blurred unless --no-blur), each purge's loss curve",
        "and settings, and the manifest."})
public final class ReportCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "OUT", description = "evaluation folders (clif eval --out)")
    List<Path> folders;

    @Option(names = "--no-blur", description = "show flagged images unblurred")
    boolean noBlur;

    @Option(names = "--bootstrap", defaultValue = "1000", description = "bootstrap resamples for the intervals (default: ${DEFAULT-VALUE}, as clif eval)")
    int bootstrap;

    @Override
    public Integer call() {
        if (bootstrap < 1) throw new dev.clif.ClifException("--bootstrap must be at least 1, got " + bootstrap);
        for (Path out : folders) System.out.println("report: " + ReportWriter.write(out, !noBlur, bootstrap, 0).toAbsolutePath());
        return 0;
    }
}
