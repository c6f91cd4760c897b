package dev.clif.io;

import dev.clif.AtomicFile;
import dev.clif.tensor.DType;
import dev.clif.tensor.Tensor;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes safetensors files atomically: everything goes to a temporary file beside the target, which is
 * forced to disk and then renamed over it, so a crash never leaves a half-written file under the real
 * name. The layout is the reference one: compact JSON header with {@code __metadata__} first and tensors
 * in sorted-name order, padded with spaces to a multiple of 8, then the data in the same order.
 */
public final class SafetensorsWriter {
    private static final JsonFactory JSON = new JsonFactory();

    private SafetensorsWriter() {}

    /** One tensor to write: raw little-endian bytes of a dense row-major array. */
    public record Entry(String name, DType dtype, long[] shape, MemorySegment data) {
        public Entry {
            long bytes = Tensor.checkedBytes(shape, dtype);
            if (data.byteSize() != bytes)
                throw new IllegalArgumentException("tensor '" + name + "': " + data.byteSize() + " bytes of data, shape "
                        + Arrays.toString(shape) + " of " + dtype + " needs " + bytes);
            if (name.equals("__metadata__")) throw new IllegalArgumentException("'__metadata__' is not a tensor name");
        }

        /** Copies a native tensor's values out (to the CPU) into an entry. */
        public static Entry of(String name, Tensor t) {
            byte[] bytes = t.toByteArray();
            return new Entry(name, t.dtype(), t.shape(), MemorySegment.ofArray(bytes));
        }

        public static Entry of(String name, float[] values, long... shape) {
            ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(values);
            return new Entry(name, DType.F32, shape, MemorySegment.ofArray(b.array()));
        }
    }

    public static void write(Path path, List<Entry> entries, Map<String, String> metadata) {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparing(Entry::name));
        for (int i = 1; i < sorted.size(); i++)
            if (sorted.get(i).name().equals(sorted.get(i - 1).name()))
                throw new IllegalArgumentException("tensor '" + sorted.get(i).name() + "' given twice");
        byte[] header = header(sorted, metadata);
        try {
            AtomicFile.write(path, tmp -> {
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                    writeFully(ch, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length));
                    writeFully(ch, ByteBuffer.wrap(header));
                    for (Entry e : sorted) writeFully(ch, e.data().asByteBuffer());
                }
            });
        } catch (dev.clif.ClifException e) {
            throw new SafetensorsException(e.getMessage(), e.getCause());
        }
    }

    /** Writes native tensors (copied to the CPU) under their map keys. */
    public static void writeTensors(Path path, Map<String, Tensor> tensors, Map<String, String> metadata) {
        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) entries.add(Entry.of(e.getKey(), e.getValue()));
        write(path, entries, metadata);
    }

    /** Copies every tensor of an open file (e.g. to re-save it with other metadata). */
    public static List<Entry> entries(SafetensorsFile file) {
        List<Entry> out = new ArrayList<>();
        for (TensorInfo t : file.tensors().values()) out.add(new Entry(t.name(), t.dtype(), t.shape(), file.bytes(t.name())));
        return out;
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    private static byte[] header(List<Entry> sorted, Map<String, String> metadata) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            if (metadata != null && !metadata.isEmpty()) {
                g.writeObjectFieldStart("__metadata__");
                for (Map.Entry<String, String> m : new LinkedHashMap<>(metadata).entrySet()) g.writeStringField(m.getKey(), m.getValue());
                g.writeEndObject();
            }
            long offset = 0;
            for (Entry e : sorted) {
                g.writeObjectFieldStart(e.name());
                g.writeStringField("dtype", e.dtype().safetensorsName);
                g.writeArrayFieldStart("shape");
                for (long d : e.shape()) g.writeNumber(d);
                g.writeEndArray();
                long end = offset + e.data().byteSize();
                g.writeArrayFieldStart("data_offsets");
                g.writeNumber(offset);
                g.writeNumber(end);
                g.writeEndArray();
                g.writeEndObject();
                offset = end;
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int pad = (8 - out.size() % 8) % 8;
        for (int i = 0; i < pad; i++) out.write(' ');
        return out.toByteArray();
    }
}
