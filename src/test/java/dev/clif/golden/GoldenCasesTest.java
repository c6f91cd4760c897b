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

/** Every case in the golden directory, through the same runners `clif check-golden` uses. */
class GoldenCasesTest {
    @TestFactory
    Stream<DynamicTest> everyGoldenCasePassesWithinItsTolerance() {
        Path root = Path.of(System.getProperty("clif.golden", "../shared/golden"));
        Assumptions.assumeTrue(Files.isDirectory(root.resolve("cases")), "golden data not present");
        List<Path> sidecars = GoldenCase.sidecars(root);
        assertTrue(sidecars.size() >= 10, "found only " + sidecars.size() + " cases");
        GoldenRunner runner = GoldenRunner.standard();
        return sidecars.stream().map(p -> DynamicTest.dynamicTest(p.getFileName().toString(), () -> {
            List<Comparison> results = runner.run(p, Device.CPU);
            assertFalse(results.isEmpty(), "no comparison made");
            String case_ = p.getFileName().toString().replace(".json", "");
            List<String> failed = results.stream().filter(c -> !c.pass()).map(c -> c.line(case_)).collect(Collectors.toList());
            assertEquals(List.of(), failed, () -> failed.size() + " of " + results.size() + " comparisons failed");
        }));
    }
}
