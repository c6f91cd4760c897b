package dev.clif.bench;

import dev.clif.purge.PurgeConfig;
import dev.clif.purge.PurgeListener;
import dev.clif.purge.Purger;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.*;

/**
 * A soak, not a timing: one purge of {@code steps} steps on tiny-sd + tiny-clip (the real Purger loop: DDIM chain,
 * both UNets, VAE decode, CLIP, backward, AdamW; a checkpoint every {@code checkpointEvery} steps) sampling the native
 * heap every {@code sampleEvery} steps with glibc's mallinfo2 (bytes in allocated chunks + mmapped blocks, as
 * MemoryTest measures it: the Java heap is not in it) and the live native tensor handles. The series goes to stdout
 * and to {@code target/soak-native-heap.tsv}; the score is the growth in bytes from the first sample to the last (a
 * flat heap scores about 0). `make bench BENCH_ARGS="PurgeSoak -p steps=1000 -p sampleEvery=100"` runs a shorter one.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 0)
@Measurement(iterations = 1)
@Timeout(time = 24, timeUnit = TimeUnit.HOURS) // JMH interrupts an iteration after 10 minutes by default
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
@State(Scope.Benchmark)
public class PurgeSoakBenchmark {
    private static final MethodHandle MALLINFO2 = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().findOrThrow("mallinfo2"),
            FunctionDescriptor.of(MemoryLayout.structLayout(MemoryLayout.sequenceLayout(10, ValueLayout.JAVA_LONG))));

    @Param({"10000"})
    public int steps;

    @Param({"500"})
    public int sampleEvery;

    @Param({"1000"})
    public int checkpointEvery;

    /** libtorch threads; 0: one per core. */
    @Param({"0"})
    public int threads;

    Path out;

    static long nativeHeapInUse() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = (MemorySegment) MALLINFO2.invokeExact((SegmentAllocator) arena);
            return info.getAtIndex(ValueLayout.JAVA_LONG, 7) + info.getAtIndex(ValueLayout.JAVA_LONG, 4);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Setup
    public void setup() throws IOException {
        Device.setThreads(threads > 0 ? threads : Math.max(1, Runtime.getRuntime().availableProcessors()));
        out = Files.createTempDirectory("clif-soak");
    }

    @TearDown
    public void tearDown() throws IOException {
        try (var s = Files.walk(out)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    @Benchmark
    public long nativeHeapGrowthBytes() throws IOException {
        Path golden = Path.of(System.getProperty("clif.golden", "testdata/golden"));
        PurgeConfig cfg = PurgeConfig.builder().concept("red car=>blue car").ddimSteps(2).batch(1).seed(7).lr(1e-3)
                .checkpointEvery(checkpointEvery).steps(steps).outputDir(out.resolve("run")).build();
        List<String> rows = new ArrayList<>();
        long[] first = {-1};
        long[] last = {0};
        long t0 = System.nanoTime();
        new Purger(cfg, golden.resolve("tiny-sd"), golden.resolve("tiny-clip")).run(new PurgeListener() {
            @Override
            public void onStep(StepEvent e) {
                if (e.step() % sampleEvery != 0 && e.step() != 1) return;
                long heap = nativeHeapInUse();
                if (first[0] < 0) first[0] = heap;
                last[0] = heap;
                String row = e.step() + "\t" + heap + "\t" + (heap - first[0]) + "\t" + Tensor.liveCount() + "\t"
                        + String.format("%.1f", (System.nanoTime() - t0) / 1e9);
                rows.add(row);
                System.out.println("soak: step\tnative heap bytes\tgrowth\tlive tensors\tseconds: " + row);
            }
        });
        Path tsv = Path.of("target", "soak-native-heap.tsv");
        Files.createDirectories(tsv.getParent());
        Files.write(tsv, (String.join("\n", List.of("step\tnative_heap_bytes\tgrowth_bytes\tlive_tensors\tseconds")) + "\n"
                + String.join("\n", rows) + "\n").getBytes());
        return last[0] - first[0];
    }
}
