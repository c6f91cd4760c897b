package dev.clif;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Where the tests find their reference data. {@link #golden()} is the copy committed under {@code testdata/golden}
 * (system property {@code clif.testdata}), so a fresh clone tests everything; {@link #besideRoots()} are the golden
 * roots of the shared folder beside the checkout (system property {@code clif.golden}, default
 * {@code ../shared/golden}), which may hold newer cases and are run too when present.
 */
public final class TestData {
    /** Fixed kernel routes for tests that compare against stored or recomputed numbers (calibrated routes may differ by run). */
    public static final String PINNED_ROUTES = "dense=blas,attention=matmul,conv=onednn,conv1x1=onednn";

    private TestData() {}

    /** The committed golden root, as a path string (it always exists: a missing one is a broken checkout). */
    public static String golden() {
        Path root = Path.of(System.getProperty("clif.testdata", "testdata/golden"));
        if (!Files.isDirectory(root.resolve("cases")))
            throw new IllegalStateException("the committed test data is missing: no " + root.toAbsolutePath().resolve("cases")
                    + " (run the tests from the repository root, or set -Dclif.testdata)");
        return root.toString();
    }

    public static Path goldenPath() {
        return Path.of(golden());
    }

    /**
     * The golden roots beside the checkout: the shared folder itself and each sub-folder of it with a {@code cases/}
     * folder ({@code eval/}, {@code sld/}, …). Empty when there is no shared folder, or when it is the committed one.
     */
    public static List<Path> besideRoots() {
        Path beside = Path.of(System.getProperty("clif.golden", "../shared/golden"));
        List<Path> roots = new ArrayList<>();
        if (!Files.isDirectory(beside)) return roots;
        try {
            if (Files.isSameFile(beside, goldenPath())) return roots;
            if (Files.isDirectory(beside.resolve("cases"))) roots.add(beside);
            try (Stream<Path> s = Files.list(beside)) {
                s.filter(p -> Files.isDirectory(p.resolve("cases"))).sorted().forEach(roots::add);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return roots;
    }
}
