package dev.clif.tensor;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ClifException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The route table's text round trip, its per-machine files, and the override's errors (no timing here). */
class KernelRoutesTest {
    private static final String DENSE = "dense rows=4096 in=320 out=320 f32 t=1\tblas\tonednn=2.500\tblas=1.250\n";
    private static final String ATTENTION = "attention B=2 heads=8 S=4096 T=77 head_dim=40 f32 t=1\tfused\tfused=3.000\tmatmul=4.125\n";

    @BeforeEach
    void emptyTable() {
        KernelRoutes.setOverride("");
        KernelRoutes.clear();
    }

    @AfterEach
    void restore() {
        KernelRoutes.setOverride("");
        KernelRoutes.clear();
    }

    @Test
    void dumpAndLoadRoundTrip() {
        assertEquals("", KernelRoutes.dump());
        assertEquals(2, KernelRoutes.load("# a comment\n\n" + DENSE + ATTENTION));
        String dump = KernelRoutes.dump();
        assertEquals(ATTENTION + DENSE, dump, "sorted by key, times with three decimals");
        KernelRoutes.clear();
        assertEquals("", KernelRoutes.dump());
        assertEquals(2, KernelRoutes.load(dump));
        assertEquals(dump, KernelRoutes.dump());

        List<KernelRoutes.Decision> decisions = KernelRoutes.decisions();
        assertEquals(2, decisions.size());
        KernelRoutes.Decision dense = decisions.get(1);
        assertEquals("dense", dense.op());
        assertEquals(1, dense.threads());
        assertEquals("blas", dense.winner());
        assertEquals(Map.of("onednn", 2.5, "blas", 1.25), dense.millis());
    }

    @Test
    void keysTimedWithTheirBackwardAreSavedToTheCacheFileAndReadBack() {
        String backward = "conv n=1 in=4 out=32 h=16 w=16 kernel=3 stride=1 f32 t=1 backward\tonednn\tonednn=0.500\tblas=0.750\n";
        KernelRoutes.load(DENSE + backward);
        KernelRoutes.Decision d = KernelRoutes.decisions().stream().filter(x -> x.key().endsWith(" backward")).findFirst().orElseThrow();
        assertEquals(1, d.threads());
        assertEquals("conv", d.op());
        KernelRoutes.save(); // threw on the backward key before, and so saved nothing at all
        String saved = KernelRoutes.dump();
        KernelRoutes.clear();
        assertNull(KernelRoutes.loadFile(KernelRoutes.file(1)));
        assertEquals(saved, KernelRoutes.dump());
        assertTrue(saved.contains(backward), saved);
    }

    @Test
    void loadingReplacesTheDecisionOfTheSameKey() {
        KernelRoutes.load(DENSE);
        KernelRoutes.load(DENSE.replace("\tblas\t", "\tonednn\t"));
        assertEquals(List.of("onednn"), KernelRoutes.decisions().stream().map(KernelRoutes.Decision::winner).toList());
    }

    @Test
    void aBadLineIsNamedAndNothingOfTheTextIsLoaded() {
        ClifException e = assertThrows(ClifException.class,
                () -> KernelRoutes.load(DENSE + "dense rows=1 in=2 out=3 f32 t=1\tmkl\tonednn=1\n"));
        assertTrue(e.getMessage().startsWith("line 2: unknown route 'mkl' for dense"), e.getMessage());
        assertEquals("", KernelRoutes.dump(), "the good first line must not have been loaded either");

        assertMessage("line 1: unknown op 'gemm'", "gemm rows=1 f32 t=1\tblas\tblas=1\n");
        assertMessage("line 1: key 'dense rows=x f32 t=1': 'rows=x' is not <dim>=<size>", "dense rows=x f32 t=1\tblas\tblas=1\n");
        assertMessage("line 1: key 'dense rows=1 f32 t=0': 't=0' is not t=<threads>", "dense rows=1 f32 t=0\tblas\tblas=1\n");
        assertMessage("line 1: 'blas=fast': 'fast' is not a time in ms", "dense rows=1 in=2 out=3 f32 t=1\tblas\tblas=fast\n");
        assertMessage("line 1: key 'dense rows=1 out=3 f32 t=1': dense takes rows=<n> in=<n> out=<n>", "dense rows=1 out=3 f32 t=1\tblas\tblas=1\n");
        assertMessage("line 1: key 'dense rows=1 in=2 out=3 i64 t=1': unknown dtype 'i64'", "dense rows=1 in=2 out=3 i64 t=1\tblas\tblas=1\n");
        assertMessage("line 1: expected", "dense rows=1 f32 t=1 blas\n");
    }

    private static void assertMessage(String start, String text) {
        ClifException e = assertThrows(ClifException.class, () -> KernelRoutes.load(text));
        assertTrue(e.getMessage().startsWith(start), e.getMessage());
    }

    @Test
    void aCorruptCacheFileIsReportedWithItsLineAndIgnored(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("routes.tsv");
        Files.writeString(file, "# header\n" + DENSE + "attention B=2 heads=8 S=1 T=1 head_dim=40 f32 t=1\tfused\tfused=NaN\n");
        String warning = KernelRoutes.loadFile(file);
        assertNotNull(warning, "a corrupt file must be reported");
        assertTrue(warning.startsWith(file + ": line 3: 'fused=NaN': 'NaN' is not a time in ms"), warning);
        assertTrue(warning.contains("measured again"), warning);
        assertEquals("", KernelRoutes.dump(), "nothing of a corrupt file is used");

        Files.write(file, new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1, 2, '\n'});
        assertNotNull(KernelRoutes.loadFile(file));
        assertEquals("", KernelRoutes.dump());

        assertNull(KernelRoutes.loadFile(dir.resolve("absent.tsv")), "no file yet is no problem");
        Files.writeString(file, DENSE);
        assertNull(KernelRoutes.loadFile(file));
        assertEquals(DENSE, KernelRoutes.dump());
    }

    @Test
    void cacheFilesAreKeyedByMachineThreadsTorchAndClifUnderTheCacheRoot() {
        Path one = KernelRoutes.file(1), two = KernelRoutes.file(2);
        assertEquals(NativeLibrary.cacheRoot().resolve("routes"), one.getParent());
        assertNotEquals(one, two);
        String name = one.getFileName().toString();
        assertTrue(name.endsWith("-t1-torch" + KernelRoutes.sanitise(NativeLibrary.torchVersion())
                + "-clif" + KernelRoutes.sanitise(NativeLibrary.clifVersion()) + ".tsv"), name);
        assertTrue(name.matches("[A-Za-z0-9._-]+"), name);
        assertEquals("AMD_EPYC_7R13_Processor", KernelRoutes.sanitise("AMD EPYC 7R13 Processor"));
        assertEquals("Intel_R_Xeon_R_CPU_2.20GHz", KernelRoutes.sanitise(" Intel(R) Xeon(R) CPU @ 2.20GHz "));
    }

    @Test
    void saveWritesEachThreadCountToItsFileAndANewThreadCountLoadsIt() throws IOException {
        // 97 threads: a count no run of the suite uses, so the file is this test's own.
        String line = DENSE.replace("t=1", "t=97");
        Path file = KernelRoutes.file(97);
        Files.deleteIfExists(file);
        try {
            KernelRoutes.load(line);
            KernelRoutes.save();
            String written = Files.readString(file);
            assertTrue(written.startsWith("# Clif kernel routes measured on "), written);
            assertTrue(written.endsWith(line), written);
            assertFalse(written.contains("t=1\t"), "other thread counts go to other files");

            KernelRoutes.clear();
            KernelRoutes.threadsChanged(97);
            assertEquals(line, KernelRoutes.dump());
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void overrideErrorsNameTheBadToken() {
        assertOverrideError("dense=fast", "'dense=fast': unknown route 'fast' for dense (use onednn|blas|calibrate)");
        assertOverrideError("dense=blas,attn=matmul", "'attn=matmul': unknown op 'attn' (use attention, conv, conv1x1 or dense)");
        assertOverrideError("attention", "'attention' is not <op>=<route>");
        assertOverrideError("conv1x1=fused", "'conv1x1=fused': unknown route 'fused' for conv1x1");
        KernelRoutes.setOverride(" dense = blas , attention=fused,conv1x1=calibrate, conv=blas");
    }

    private static void assertOverrideError(String spec, String start) {
        ClifException e = assertThrows(ClifException.class, () -> KernelRoutes.setOverride(spec));
        assertTrue(e.getMessage().startsWith(start), e.getMessage());
    }
}
