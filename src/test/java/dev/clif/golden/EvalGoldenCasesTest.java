package dev.clif.golden;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.tensor.Device;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** The evaluation metrics' golden root (golden/eval: clip_score, fid), through the runners `clif check-golden` uses. */
class EvalGoldenCasesTest {
    @TestFactory
    Stream<DynamicTest> clipScoreAndFidMatchTheirReferences() {
        Path root = dev.clif.TestData.goldenPath().resolve("eval");
        org.junit.jupiter.api.Assertions.assertTrue(Files.isDirectory(root.resolve("cases")), "golden/eval not present");
        List<Path> sidecars = GoldenCase.sidecars(root);
        List<String> names = sidecars.stream().map(p -> p.getFileName().toString()).toList();
        assertTrue(names.containsAll(List.of("clip_score.json", "fid.json")), "cases found: " + names);
        GoldenRunner runner = GoldenRunner.standard();
        return sidecars.stream().map(p -> DynamicTest.dynamicTest(p.getFileName().toString(), () -> {
            List<Comparison> results = runner.run(p, Device.CPU);
            String case_ = p.getFileName().toString().replace(".json", "");
            assertTrue(results.size() >= 8, "only " + results.size() + " comparisons for " + case_);
            List<String> failed = results.stream().filter(c -> !c.pass()).map(c -> c.line(case_)).collect(Collectors.toList());
            assertEquals(List.of(), failed, () -> failed.size() + " of " + results.size() + " comparisons failed");
        }));
    }
}
