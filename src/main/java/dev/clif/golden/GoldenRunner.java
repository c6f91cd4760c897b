package dev.clif.golden;

import dev.clif.ClifException;
import dev.clif.tensor.Device;
import dev.clif.tensor.TensorScope;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Finds the runner for each case of a golden directory and runs them. Used by `clif check-golden` and the tests. */
public final class GoldenRunner {
    private final Map<String, CaseRunner> runners = new TreeMap<>();

    public GoldenRunner(List<CaseRunner> all) {
        for (CaseRunner r : all)
            for (String c : r.cases()) runners.put(c, r);
    }

    /** Every runner Clif has. New case kinds are registered here. */
    public static GoldenRunner standard() {
        return new GoldenRunner(List.of(
                new SchedulerCases(),
                new SamplerCases(),
                new ClipCases(),
                new VaeCases(),
                new UnetCases(),
                new PipelineCases(),
                new SdxlCases(),
                new SldCases(),
                new TokenizerCases(),
                new PurgeCases(),
                new EvalMetricCases()));
    }

    public boolean supports(String caseName) {
        return runners.containsKey(caseName);
    }

    public List<String> supported() {
        return List.copyOf(runners.keySet());
    }

    /** Runs one case; a case without a runner or one that throws gives a single failing comparison. */
    public List<Comparison> run(Path sidecar, Device device) {
        try (GoldenCase c = GoldenCase.open(sidecar); TensorScope scope = TensorScope.open()) {
            CaseRunner r = runners.get(c.name());
            if (r == null)
                return List.of(new Comparison("*", false, Double.NaN, Tolerance.EXACT,
                        "no runner for case '" + c.name() + "' (Clif knows " + String.join(", ", supported()) + ")"));
            return r.run(c, device);
        } catch (ClifException | IllegalArgumentException | IllegalStateException e) {
            return List.of(new Comparison("*", false, Double.NaN, Tolerance.EXACT, "error: " + e.getMessage()));
        }
    }

    public record Result(String caseName, List<Comparison> comparisons) {
        public boolean pass() {
            return !comparisons.isEmpty() && comparisons.stream().allMatch(Comparison::pass);
        }
    }

    public List<Result> runAll(Path root, Device device) {
        List<Result> out = new ArrayList<>();
        for (Path p : GoldenCase.sidecars(root)) {
            String name = p.getFileName().toString().replaceFirst("\\.json$", "");
            out.add(new Result(name, run(p, device)));
        }
        return out;
    }
}
