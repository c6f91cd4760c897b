package dev.clif.io;

import dev.clif.TestData;
import static org.junit.jupiter.api.Assertions.*;

import dev.clif.tensor.DType;
import dev.clif.tensor.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

public class SafetensorsTest {
    static Path golden() {
        return Path.of(TestData.golden());
    }

    /** Every file of the malformed corpus with the fragment its error must contain. */
    public static Map<Path, String> corpus() {
        try {
            Path dir = Path.of(SafetensorsTest.class.getResource("/malformed/expected.tsv").toURI()).getParent();
            Map<Path, String> out = new LinkedHashMap<>();
            for (String line : Files.readAllLines(dir.resolve("expected.tsv"), StandardCharsets.UTF_8)) {
                if (line.isBlank() || line.startsWith("#")) continue;
                String[] parts = line.split("\t", 2);
                out.put(dir.resolve(parts[0]), parts[1]);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Opens a file the way a model loader does: parse, then refuse non-finite weights. */
    static void openAsLoaderWould(Path p) {
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            for (String n : f.names()) f.requireFinite(n);
        }
    }

    @TestFactory
    Stream<DynamicTest> everyMalformedFileIsRefusedWithAMessageNamingTheProblem() {
        Map<Path, String> corpus = corpus();
        assertTrue(corpus.size() >= 12, "corpus has " + corpus.size() + " files");
        return corpus.entrySet().stream().map(e -> DynamicTest.dynamicTest(e.getKey().getFileName().toString(), () -> {
            SafetensorsException ex = assertThrows(SafetensorsException.class, () -> openAsLoaderWould(e.getKey()));
            assertTrue(ex.getMessage().contains(e.getValue()), () -> "message: " + ex.getMessage());
            assertTrue(ex.getMessage().contains(e.getKey().getFileName().toString()), () -> "names the file: " + ex.getMessage());
        }));
    }

    @Test
    void missingFileIsAClearError() {
        SafetensorsException ex = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(Path.of("/no/such/file.safetensors")));
        assertTrue(ex.getMessage().contains("no such file"), ex.getMessage());
    }

    static List<Path> goldenFiles() throws IOException {
        Assertions.assertTrue(Files.isDirectory(golden()), "golden data not present");
        try (Stream<Path> s = Files.walk(golden())) {
            return s.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList();
        }
    }

    @Test
    void everyGoldenFileRoundTripsByteForByte(@TempDir Path tmp) throws IOException {
        List<Path> files = goldenFiles();
        assertTrue(files.size() >= 10, "found " + files.size() + " golden safetensors files");
        for (Path p : files) {
            Path copy = tmp.resolve(p.getFileName());
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                SafetensorsWriter.write(copy, SafetensorsWriter.entries(f), f.metadata());
                try (SafetensorsFile g = SafetensorsFile.open(copy)) {
                    assertEquals(f.metadata(), g.metadata(), p.toString());
                    assertEquals(new ArrayList<>(f.tensors().keySet()).stream().sorted().toList(), g.names(), p.toString());
                    for (String n : f.names()) {
                        assertEquals(f.info(n).dtype(), g.info(n).dtype());
                        assertArrayEquals(f.info(n).shape(), g.info(n).shape());
                        assertEquals(-1, f.bytes(n).mismatch(g.bytes(n)), p + " tensor " + n);
                    }
                }
            }
            assertEquals(-1, Files.mismatch(p, copy), "written file differs from " + p);
        }
    }

    @Test
    void writesNativeTensorsAndReadsThemBack(@TempDir Path tmp) {
        Path out = tmp.resolve("t.safetensors");
        try (Tensor a = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3); Tensor b = Tensor.of(new long[] {7, -8}, 2)) {
            SafetensorsWriter.writeTensors(out, Map.of("b", b, "a", a), Map.of("format", "pt"));
        }
        try (SafetensorsFile f = SafetensorsFile.open(out)) {
            assertEquals(List.of("a", "b"), f.names());
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, f.floats("a"));
            assertArrayEquals(new long[] {7, -8}, f.longs("b"));
            assertEquals(Map.of("format", "pt"), f.metadata());
            try (Tensor a = f.load("a")) {
                assertArrayEquals(new long[] {2, 3}, a.shape());
                assertEquals(DType.F32, a.dtype());
            }
        }
    }

    @Test
    void failedWriteLeavesTheOldFileAndNoTemporaries(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("model.safetensors");
        SafetensorsWriter.write(out, List.of(SafetensorsWriter.Entry.of("w", new float[] {1}, 1)), Map.of());
        byte[] before = Files.readAllBytes(out);
        // A duplicate name is refused before anything is written.
        assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(out, List.of(
                SafetensorsWriter.Entry.of("x", new float[] {1}, 1), SafetensorsWriter.Entry.of("x", new float[] {2}, 1)), Map.of()));
        // An unwritable target directory fails with the path in the message.
        Path blocked = tmp.resolve("file-not-dir");
        Files.writeString(blocked, "x");
        SafetensorsException ex = assertThrows(SafetensorsException.class, () -> SafetensorsWriter.write(blocked.resolve("m.safetensors"),
                List.of(SafetensorsWriter.Entry.of("w", new float[] {1}, 1)), Map.of()));
        assertTrue(ex.getMessage().contains("m.safetensors"), ex.getMessage());
        assertArrayEquals(before, Files.readAllBytes(out));
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of("file-not-dir", "model.safetensors"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void headerIsPaddedToEightBytes(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("p.safetensors");
        SafetensorsWriter.write(out, List.of(SafetensorsWriter.Entry.of("abc", new float[] {1, 2}, 2)), Map.of());
        try (InputStream in = Files.newInputStream(out)) {
            byte[] len = in.readNBytes(8);
            long n = java.nio.ByteBuffer.wrap(len).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals(0, n % 8);
        }
    }
}
