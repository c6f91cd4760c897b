package dev.clif.tensor;

import static org.junit.jupiter.api.Assertions.*;

import dev.clif.ffi.clif_h;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/** The Java ⇄ C contract: the header, the bindings generated from it, the library, and errors crossing it. */
class NativeBoundaryTest {
    static final Path HEADER = Path.of("native/include/clif.h");

    @Test
    void headerMatchesTheHashTheBindingsWereGeneratedFrom() throws Exception {
        String provenance = Files.readString(Path.of("bindings/PROVENANCE"));
        Matcher m = Pattern.compile("header-sha256: ([0-9a-f]{64})").matcher(provenance);
        assertTrue(m.find(), "bindings/PROVENANCE records no header-sha256");
        String actual = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(HEADER)));
        assertEquals(m.group(1), actual,
                "native/include/clif.h changed since the bindings were generated: run `make bindings JEXTRACT=/path/to/jextract`");
    }

    static List<String> declaredFunctions() throws IOException {
        String text = Files.readString(HEADER, StandardCharsets.UTF_8)
                .replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\n]*", " ");
        List<String> names = new ArrayList<>();
        Matcher m = Pattern.compile("\\b(clif_[a-z0-9_]+)\\s*\\(").matcher(text);
        while (m.find()) if (!names.contains(m.group(1))) names.add(m.group(1));
        return names;
    }

    @Test
    void everyDeclaredFunctionResolvesInTheLibraryAndHasABinding() throws Exception {
        NativeLibrary.load();
        List<String> names = declaredFunctions();
        assertTrue(names.size() > 20, "parsed only " + names.size() + " functions from clif.h");
        SymbolLookup lib = SymbolLookup.loaderLookup();
        List<String> missing = new ArrayList<>();
        List<String> unbound = new ArrayList<>();
        for (String n : names) {
            if (lib.find(n).isEmpty()) missing.add(n);
            try {
                clif_h.class.getMethod(n + "$address");
            } catch (NoSuchMethodException e) {
                unbound.add(n);
            }
        }
        assertEquals(List.of(), missing, "declared in clif.h but not exported by " + NativeLibrary.path());
        assertEquals(List.of(), unbound, "declared in clif.h but absent from the generated bindings");
    }

    @Test
    void reportsVersions() {
        assertFalse(NativeLibrary.clifVersion().isBlank());
        assertTrue(NativeLibrary.torchVersion().matches("\\d+\\.\\d+.*"), NativeLibrary.torchVersion());
    }

    // ---- C++ exceptions of each family arrive with their message ----

    @Test
    void tensorFamilyErrorsCarryTheLibtorchMessage() {
        try (Tensor t = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3)) {
            ClifNativeException e = assertThrows(ClifNativeException.class, () -> t.reshape(4, 4));
            assertTrue(e.getMessage().startsWith("clif_tensor_reshape: "), e.getMessage());
            assertTrue(e.getMessage().contains("shape '[4, 4]' is invalid for input of size 6"), e.getMessage());
            try (Tensor other = Tensor.of(new float[] {1, 2}, 2)) {
                ClifNativeException e2 = assertThrows(ClifNativeException.class, () -> t.maxAbsDiff(other));
                assertTrue(e2.getMessage().contains("shapes differ"), e2.getMessage());
                ClifNativeException e3 = assertThrows(ClifNativeException.class, () -> Tensor.axpby(1, t, 1, other));
                assertTrue(e3.getMessage().contains("must match the size"), e3.getMessage());
            }
        }
    }

    @Test
    void tensorFamilyRejectsNullAndBadCodesWithoutCrashing() {
        NativeLibrary.load();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            assertNotEquals(0, clif_h.clif_tensor_ndim(MemorySegment.NULL, out));
            assertTrue(NativeLibrary.lastError().contains("tensor is NULL"), NativeLibrary.lastError());
            MemorySegment shape = arena.allocateFrom(ValueLayout.JAVA_LONG, 2);
            MemorySegment slot = arena.allocate(ValueLayout.ADDRESS);
            assertNotEquals(0, clif_h.clif_tensor_zeros(shape, 1, 99, -1, slot));
            assertTrue(NativeLibrary.lastError().contains("unknown dtype code 99"), NativeLibrary.lastError());
        }
    }

    @Test
    void deviceFamilyErrorsCarryTheirMessage() {
        ClifNativeException e = assertThrows(ClifNativeException.class, () -> new Device(Device.cudaCount() + 3).check());
        assertTrue(e.getMessage().startsWith("clif_device_check: no such device"), e.getMessage());
        ClifNativeException e2 = assertThrows(ClifNativeException.class, () -> Device.setThreads(0));
        assertTrue(e2.getMessage().contains("threads must be positive"), e2.getMessage());
        ClifNativeException e3 = assertThrows(ClifNativeException.class, () -> new Device(Device.cudaCount() + 1).memory());
        assertTrue(e3.getMessage().startsWith("clif_device_memory: no such device"), e3.getMessage());
    }

    @Test
    void errorsAreThreadLocal() throws Exception {
        try (Tensor t = Tensor.of(new float[] {1, 2}, 2)) {
            assertThrows(ClifNativeException.class, () -> t.reshape(3));
            String[] seen = new String[1];
            Thread other = Thread.ofPlatform().start(() -> {
                NativeLibrary.load();
                seen[0] = clif_h.clif_last_error().getString(0);
            });
            other.join();
            assertEquals("", seen[0]);
        }
    }

    @Test
    void cpuMemoryFiguresAreZeroAndThreadsConfigurable() {
        assertEquals(new Device.Memory(0, 0, 0), Device.CPU.memory());
        int before = Device.threads();
        Device.setThreads(1);
        assertEquals(1, Device.threads());
        Device.setThreads(before);
    }

    @Test
    void explainsAMissingLibtorchInOneSentence() {
        String msg = NativeLibrary.explain(Path.of("/x/libclif.so"),
                "/x/libclif.so: libtorch_cpu.so: cannot open shared object file: No such file or directory");
        assertTrue(msg.contains("apt-get install libtorch-dev"), msg);
        assertFalse(msg.contains("\n"));
    }
}
