package dev.clif.io;

import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A safetensors file, memory-mapped and validated before anything in it is trusted: the header length
 * is bounded by the file, the header is well-formed JSON with no duplicate names, every dtype is known,
 * every shape is a list of non-negative integers whose element count times the dtype size equals its
 * byte span, every span lies inside the data section, and the spans tile the data section exactly
 * (no overlaps, no holes), as the format requires. Any violation is a {@link SafetensorsException}
 * naming the file and the tensor.
 *
 * <p>Closing the file unmaps it; segments obtained from it must not be used afterwards.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** The reference implementation refuses headers above 100 MB; so do we. */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    private static final ObjectMapper JSON = JsonMapper.builder(JsonFactory.builder()
                    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build())
            .build();

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;
    private final Runnable onClose;

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, Map<String, TensorInfo> tensors,
                            Map<String, String> metadata) {
        this(path, arena, data, tensors, metadata, arena::close);
    }

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, Map<String, TensorInfo> tensors,
                            Map<String, String> metadata, Runnable onClose) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.tensors = tensors;
        this.metadata = metadata;
        this.onClose = onClose;
    }

    /**
     * Opens {@code path}: a safetensors file, or a {@code *.safetensors.view.json} that stands for one component of a
     * single-file checkpoint ({@link SingleFileView}), read through a view of that file.
     */
    public static SafetensorsFile open(Path path) {
        if (path.getFileName() != null && path.getFileName().toString().endsWith(SingleFileView.SUFFIX)) return SingleFileView.open(path);
        return openFile(path);
    }

    /**
     * These bytes under other names and shapes: each entry's data must be a slice of this file's data section and
     * hold exactly its shape's bytes. Closing the view runs {@code onClose} (e.g. closes this file).
     */
    SafetensorsFile view(Path viewPath, List<SafetensorsWriter.Entry> entries, Map<String, String> viewMetadata, Runnable onViewClose) {
        Map<String, TensorInfo> infos = new LinkedHashMap<>();
        for (SafetensorsWriter.Entry e : entries) {
            long begin = e.data().isNative() && data.isNative() ? e.data().address() - data.address() : -1;
            long end = begin + e.data().byteSize();
            if (begin < 0 || end > data.byteSize())
                throw new IllegalArgumentException("tensor '" + e.name() + "' does not lie in " + path);
            if (infos.put(e.name(), new TensorInfo(e.name(), e.dtype(), e.shape(), begin, end)) != null)
                throw new SafetensorsException(viewPath + ": tensor '" + e.name() + "' given twice");
        }
        return new SafetensorsFile(viewPath, arena, data, Collections.unmodifiableMap(infos), viewMetadata, onViewClose);
    }

    private static SafetensorsFile openFile(Path path) {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            MemorySegment file = size == 0 ? MemorySegment.NULL.reinterpret(0) : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            SafetensorsFile result = parse(path, arena, file);
            return result;
        } catch (NoSuchFileException e) {
            arena.close();
            throw new SafetensorsException(path + ": no such file");
        } catch (IOException e) {
            arena.close();
            throw new SafetensorsException(path + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static SafetensorsFile parse(Path path, Arena arena, MemorySegment file) {
        long size = file.byteSize();
        if (size < 8)
            throw new SafetensorsException(path + ": not a safetensors file: " + size + " bytes, shorter than the 8-byte header length");
        long headerLen = file.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLen < 0 || headerLen > MAX_HEADER_BYTES)
            throw new SafetensorsException(path + ": header length " + Long.toUnsignedString(headerLen)
                    + " is beyond the " + MAX_HEADER_BYTES + "-byte limit (corrupt or not a safetensors file)");
        if (headerLen > size - 8)
            throw new SafetensorsException(path + ": header length " + headerLen + " runs past the end of the "
                    + size + "-byte file (truncated or corrupt)");
        if (headerLen < 2)
            throw new SafetensorsException(path + ": header of " + headerLen + " bytes cannot hold a JSON object");
        byte[] headerBytes = file.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
        String header;
        try {
            header = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(headerBytes)).toString();
        } catch (CharacterCodingException e) {
            throw new SafetensorsException(path + ": header is not valid UTF-8");
        }
        JsonNode root;
        try (JsonParser parser = JSON.createParser(header)) {
            root = JSON.readTree(parser);
            if (root != null && parser.nextToken() != null)
                throw new SafetensorsException(path + ": header has data after its JSON object");
        } catch (JsonParseException e) {
            String why = e.getOriginalMessage().replaceFirst("\\s*\\(start marker at .*$", "").replaceAll("\\s*\\R\\s*", " ");
            throw new SafetensorsException(path + ": header is not valid JSON: " + why);
        } catch (IOException e) {
            throw new SafetensorsException(path + ": header is not valid JSON: " + e.getMessage(), e);
        }
        if (!(root instanceof ObjectNode obj))
            throw new SafetensorsException(path + ": header is not a JSON object");

        long dataStart = 8 + headerLen;
        long dataSize = size - dataStart;
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = Map.of();
        for (Iterator<Map.Entry<String, JsonNode>> it = obj.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            if (name.equals("__metadata__")) {
                metadata = parseMetadata(path, e.getValue());
                continue;
            }
            TensorInfo info = parseEntry(path, name, e.getValue());
            if (info.end() > dataSize)
                throw new SafetensorsException(path + ": tensor '" + name + "' spans bytes [" + info.begin() + ", "
                        + info.end() + ") but the data section has only " + dataSize + " bytes (truncated file?)");
            tensors.put(name, info);
        }
        checkTiling(path, tensors.values(), dataSize);
        MemorySegment data = file.asSlice(dataStart, dataSize);
        return new SafetensorsFile(path, arena, data, Collections.unmodifiableMap(tensors), metadata);
    }

    private static Map<String, String> parseMetadata(Path path, JsonNode node) {
        if (!node.isObject()) throw new SafetensorsException(path + ": __metadata__ is not a JSON object");
        Map<String, String> m = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual())
                throw new SafetensorsException(path + ": __metadata__ value of '" + e.getKey() + "' is not a string");
            m.put(e.getKey(), e.getValue().textValue());
        }
        return Collections.unmodifiableMap(m);
    }

    private static TensorInfo parseEntry(Path path, String name, JsonNode node) {
        String where = path + ": tensor '" + name + "'";
        if (!node.isObject()) throw new SafetensorsException(where + " is not a JSON object");
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) throw new SafetensorsException(where + " has no dtype string");
        DType dtype = DType.fromSafetensors(dtypeNode.textValue());
        if (dtype == null)
            throw new SafetensorsException(where + " has unknown dtype '" + dtypeNode.textValue() + "'");
        JsonNode shapeNode = node.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) throw new SafetensorsException(where + " has no shape array");
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.longValue() < 0)
                throw new SafetensorsException(where + " has a bad shape " + shapeNode + ": dimensions must be non-negative integers");
            shape[i] = d.longValue();
        }
        JsonNode offsets = node.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2)
            throw new SafetensorsException(where + " has no data_offsets [begin, end]");
        for (JsonNode o : offsets)
            if (!o.isIntegralNumber() || !o.canConvertToLong() || o.longValue() < 0)
                throw new SafetensorsException(where + " has bad data_offsets " + offsets);
        long begin = offsets.get(0).longValue();
        long end = offsets.get(1).longValue();
        if (end < begin) throw new SafetensorsException(where + " has data_offsets " + offsets + " with end before begin");
        long expected;
        try {
            expected = Tensor.checkedBytes(shape, dtype);
        } catch (ArithmeticException | IllegalArgumentException e) {
            throw new SafetensorsException(where + " has a shape " + shapeNode + " too large to exist");
        }
        if (expected != end - begin)
            throw new SafetensorsException(where + ": shape " + shapeNode + " of " + dtype + " needs " + expected
                    + " bytes but its span [" + begin + ", " + end + ") holds " + (end - begin));
        for (String k : iterable(node.fieldNames()))
            if (!k.equals("dtype") && !k.equals("shape") && !k.equals("data_offsets"))
                throw new SafetensorsException(where + " has unexpected field '" + k + "'");
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static void checkTiling(Path path, java.util.Collection<TensorInfo> infos, long dataSize) {
        List<TensorInfo> sorted = new ArrayList<>(infos);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long pos = 0;
        TensorInfo prev = null;
        for (TensorInfo t : sorted) {
            if (t.begin() < pos)
                throw new SafetensorsException(path + ": tensors '" + prev.name() + "' and '" + t.name() + "' overlap (bytes ["
                        + t.begin() + ", " + Math.min(pos, t.end()) + "))");
            if (t.begin() > pos)
                throw new SafetensorsException(path + ": bytes [" + pos + ", " + t.begin() + ") of the data section belong to no tensor"
                        + (prev == null ? "" : " (after '" + prev.name() + "')"));
            pos = t.end();
            prev = t;
        }
        if (pos != dataSize)
            throw new SafetensorsException(path + ": the data section has " + (dataSize - pos) + " bytes after the last tensor that belong to no tensor");
    }

    private static <T> Iterable<T> iterable(Iterator<T> it) {
        return () -> it;
    }

    // ---- access ------------------------------------------------------------------------------------

    public Path path() {
        return path;
    }

    /** Tensor names in header order. */
    public List<String> names() {
        return List.copyOf(tensors.keySet());
    }

    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public TensorInfo info(String name) {
        TensorInfo info = tensors.get(name);
        if (info == null) throw new SafetensorsException(path + ": no tensor named '" + name + "'");
        return info;
    }

    /** The tensor's raw little-endian bytes (a view into the mapping, read-only). */
    public MemorySegment bytes(String name) {
        TensorInfo info = info(name);
        return data.asSlice(info.begin(), info.byteSize()).asReadOnly();
    }

    /** A native tensor holding a copy of the named tensor, on {@code device}. */
    public Tensor load(String name, Device device) {
        TensorInfo info = info(name);
        return Tensor.fromSegment(bytes(name), info.dtype(), device, info.shape());
    }

    public Tensor load(String name) {
        return load(name, Device.CPU);
    }

    /** The tensor's values as floats (F32 only). */
    public float[] floats(String name) {
        TensorInfo info = info(name);
        if (info.dtype() != DType.F32) throw new SafetensorsException(path + ": tensor '" + name + "' is " + info.dtype() + ", not F32");
        return bytes(name).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
    }

    public long[] longs(String name) {
        TensorInfo info = info(name);
        if (info.dtype() != DType.I64) throw new SafetensorsException(path + ": tensor '" + name + "' is " + info.dtype() + ", not I64");
        return bytes(name).toArray(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
    }

    /**
     * Throws naming the tensor when a floating-point tensor holds NaN or ±Inf. Model loaders call this:
     * a non-finite weight would silently poison every output.
     */
    public void requireFinite(String name) {
        TensorInfo info = info(name);
        long bad = NonFinite.firstIndex(bytes(name), info.dtype());
        if (bad >= 0)
            throw new SafetensorsException(path + ": tensor '" + name + "' holds a non-finite value (NaN or Inf) at element " + bad);
    }

    @Override
    public void close() {
        onClose.run();
    }

    static boolean isSafetensors(Path p) {
        return Files.isRegularFile(p) && p.getFileName().toString().endsWith(".safetensors");
    }
}
