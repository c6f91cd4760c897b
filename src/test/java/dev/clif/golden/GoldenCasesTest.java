package dev.clif.golden;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.TestData;
import dev.clif.io.Sha256;
import dev.clif.tensor.Device;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every case of the committed golden root (testdata/golden), and of each golden root beside the checkout
 * (../shared/golden and its eval/, sld/, … sub-roots) when there is one, through the runners `clif check-golden` uses.
 * A beside case identical to a committed one (same sidecar and tensor bytes) is not run twice; a beside case of a kind
 * Clif has no runner for yet is reported as skipped, naming the kind.
 */
class GoldenCasesTest {
    private static final GoldenRunner RUNNER = GoldenRunner.standard();

    @TestFactory
    Stream<DynamicNode> everyGoldenCasePassesWithinItsTolerance() throws IOException {
        Path committed = TestData.goldenPath();
        List<Path> sidecars = GoldenCase.sidecars(committed);
        assertTrue(sidecars.size() >= 10, "found only " + sidecars.size() + " cases in " + committed);
        List<DynamicNode> nodes = new ArrayList<>();
        nodes.add(DynamicContainer.dynamicContainer(committed.toString(), sidecars.stream().map(p -> caseTest(p, true))));
        for (Path root : TestData.besideRoots()) {
            List<DynamicTest> tests = new ArrayList<>();
            for (Path p : GoldenCase.sidecars(root))
                if (!sameAsCommitted(p, committed)) tests.add(caseTest(p, false));
            if (!tests.isEmpty()) nodes.add(DynamicContainer.dynamicContainer(root.toString(), tests.stream()));
        }
        return nodes.stream();
    }

    private static DynamicTest caseTest(Path sidecar, boolean committed) {
        String name = sidecar.getFileName().toString().replaceFirst("\\.json$", "");
        return DynamicTest.dynamicTest(name, () -> {
            if (!committed) {
                String kind;
                try (GoldenCase c = GoldenCase.open(sidecar)) {
                    kind = c.name();
                }
                Assumptions.assumeTrue(RUNNER.supports(kind), "Clif has no runner yet for case kind '" + kind + "' (" + sidecar + ")");
            }
            List<Comparison> results = RUNNER.run(sidecar, Device.CPU);
            assertFalse(results.isEmpty(), "no comparison made");
            List<String> failed = results.stream().filter(c -> !c.pass()).map(c -> c.line(name)).collect(Collectors.toList());
            assertEquals(List.of(), failed, () -> failed.size() + " of " + results.size() + " comparisons failed");
        });
    }

    /** A beside case whose sidecar and tensor file are byte for byte the committed ones (its models are then too). */
    private static boolean sameAsCommitted(Path sidecar, Path committed) throws IOException {
        Path mine = committed.resolve("cases").resolve(sidecar.getFileName());
        if (!Files.isRegularFile(mine) || Files.mismatch(sidecar, mine) != -1) return false;
        try (Stream<Path> s = Files.list(sidecar.getParent())) {
            for (Path other : s.filter(p -> p.getFileName().toString().endsWith(".safetensors")
                    && p.getFileName().toString().startsWith(name(sidecar))).toList()) {
                Path copy = mine.resolveSibling(other.getFileName());
                if (!Files.isRegularFile(copy) || Files.mismatch(other, copy) != -1) return false;
            }
        }
        return modelsSame(sidecar.getParent().getParent(), committed);
    }

    private static String name(Path sidecar) {
        return sidecar.getFileName().toString().replaceFirst("\\.json$", "");
    }

    /** The model folders of both roots (tiny-sd, tiny-clip) hold the same bytes. */
    private static boolean modelsSame(Path beside, Path committed) throws IOException {
        for (String folder : List.of("tiny-sd", "tiny-clip")) {
            Path a = beside.resolve(folder), b = committed.resolve(folder);
            if (!Files.isDirectory(a)) return false;
            if (!treeDigest(a).equals(treeDigest(b))) return false;
        }
        return true;
    }

    private static String treeDigest(Path dir) throws IOException {
        StringBuilder sb = new StringBuilder();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).sorted().toList())
                sb.append(dir.relativize(p)).append('=').append(Sha256.of(p)).append('\n');
        }
        return sb.toString();
    }
}
