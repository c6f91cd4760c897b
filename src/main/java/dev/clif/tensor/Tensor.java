package dev.clif.tensor;

import dev.clif.ffi.clif_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Cleaner;
import java.util.Arrays;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One native libtorch tensor. Close it (or let its {@link TensorScope} close it) to free the native
 * memory; a {@link Cleaner} frees forgotten ones and logs a leak warning, as a safety net only.
 *
 * <p>Arguments are validated here, before any native call; what still fails natively arrives as a
 * {@link ClifNativeException} carrying libtorch's message. Not thread-safe.
 */
public final class Tensor implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Tensor.class);
    private static final Cleaner CLEANER = Cleaner.create();
    private static final int MAX_DIMS = 16;

    /** The freeing action, shared by close() and the Cleaner; runs once. */
    private static final class Handle implements Runnable {
        final MemorySegment ptr;
        volatile boolean closedExplicitly;

        Handle(MemorySegment ptr) {
            this.ptr = ptr;
        }

        @Override
        public void run() {
            if (!closedExplicitly) reportLeak(ptr);
            clif_h.clif_tensor_free(ptr);
        }
    }

    private static final java.util.concurrent.atomic.AtomicLong LEAKS = new java.util.concurrent.atomic.AtomicLong();

    /** Warns about the first few leaks in full, then once per thousand, so a leaking loop cannot flood the log. */
    private static void reportLeak(MemorySegment ptr) {
        long n = LEAKS.incrementAndGet();
        if (n <= 5)
            log.warn("leaked tensor of shape {} freed by the garbage collector: close tensors or use a TensorScope",
                    Arrays.toString(queryShape(ptr)));
        else if (n % 1000 == 0)
            log.warn("{} leaked tensors freed by the garbage collector so far", n);
    }

    /** Tensors the Cleaner had to free because nobody closed them (since the JVM started). */
    public static long leakCount() {
        return LEAKS.get();
    }

    private final Handle handle;
    private final Cleaner.Cleanable cleanable;
    private TensorScope scope;
    private boolean closed;

    private Tensor(MemorySegment ptr) {
        this.handle = new Handle(ptr);
        this.cleanable = CLEANER.register(this, handle);
        this.scope = TensorScope.current();
        if (scope != null) scope.add(this);
    }

    /** Takes ownership of a handle a native call just returned through {@code out} (a pointer slot). */
    public static Tensor adopt(MemorySegment out) {
        MemorySegment ptr = out.get(ValueLayout.ADDRESS, 0);
        if (ptr.equals(MemorySegment.NULL)) throw new ClifNativeException("native call returned no tensor");
        return new Tensor(ptr);
    }

    /** The native handle, for passing to clif_* functions. */
    public MemorySegment handle() {
        if (closed) throw new IllegalStateException("tensor is closed");
        return handle.ptr;
    }

    public boolean isClosed() {
        return closed;
    }

    TensorScope scope() {
        return scope;
    }

    /** Takes this tensor out of its scope: the caller now owns it and must close it. */
    public Tensor detachFromScope() {
        if (scope != null) {
            scope.remove(this);
            scope = null;
        }
        return this;
    }

    /**
     * Gives a tensor that belongs to no scope (made in an inner scope and kept) to the innermost open scope of this
     * thread, as if it had been made there; without an open scope the caller still owns it. Returns it.
     */
    public Tensor attachToCurrentScope() {
        if (scope == null && !closed) {
            scope = TensorScope.current();
            if (scope != null) scope.add(this);
        }
        return this;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (scope != null) {
            scope.remove(this);
            scope = null;
        }
        handle.closedExplicitly = true;
        cleanable.clean();
    }

    // ---- creation ----------------------------------------------------------------------------------

    /** A tensor holding a copy of {@code data} (dense, row-major, little-endian) on {@code device}. */
    public static Tensor fromSegment(MemorySegment data, DType dtype, Device device, long... shape) {
        long bytes = checkedBytes(shape, dtype);
        if (data.byteSize() != bytes)
            throw new IllegalArgumentException("data has " + data.byteSize() + " bytes but shape "
                    + Arrays.toString(shape) + " of " + dtype + " needs " + bytes);
        NativeLibrary.load();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = data.isNative() ? data : arena.allocate(bytes, 8).copyFrom(data);
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_tensor_from_data(src, bytes, shapeSegment(arena, shape), shape.length,
                    dtype.code, device.index(), out));
            return adopt(out);
        }
    }

    public static Tensor of(float[] data, long... shape) {
        checkLength(data.length, shape);
        return fromSegment(MemorySegment.ofArray(data), DType.F32, Device.CPU, shape);
    }

    public static Tensor of(double[] data, long... shape) {
        checkLength(data.length, shape);
        return fromSegment(MemorySegment.ofArray(data), DType.F64, Device.CPU, shape);
    }

    public static Tensor of(long[] data, long... shape) {
        checkLength(data.length, shape);
        return fromSegment(MemorySegment.ofArray(data), DType.I64, Device.CPU, shape);
    }

    public static Tensor of(int[] data, long... shape) {
        checkLength(data.length, shape);
        return fromSegment(MemorySegment.ofArray(data), DType.I32, Device.CPU, shape);
    }

    public static Tensor of(byte[] data, long... shape) {
        checkLength(data.length, shape);
        return fromSegment(MemorySegment.ofArray(data), DType.U8, Device.CPU, shape);
    }

    /** A 0-dim tensor. */
    public static Tensor scalar(float value) {
        return of(new float[] {value});
    }

    public static Tensor zeros(DType dtype, Device device, long... shape) {
        checkedBytes(shape, dtype);
        NativeLibrary.load();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_tensor_zeros(shapeSegment(arena, shape), shape.length, dtype.code, device.index(), out));
            return adopt(out);
        }
    }

    /** Normal samples, the same as {@code torch.manual_seed(seed); torch.randn(shape)} on the CPU. */
    public static Tensor randn(long seed, DType dtype, Device device, long... shape) {
        checkedBytes(shape, dtype);
        NativeLibrary.load();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_tensor_randn(shapeSegment(arena, shape), shape.length, seed, dtype.code, device.index(), out));
            return adopt(out);
        }
    }

    // ---- queries -----------------------------------------------------------------------------------

    public long[] shape() {
        return queryShape(handle());
    }

    public int ndim() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            NativeLibrary.check(clif_h.clif_tensor_ndim(handle(), out));
            return out.get(ValueLayout.JAVA_INT, 0);
        }
    }

    public long numel() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_LONG);
            NativeLibrary.check(clif_h.clif_tensor_numel(handle(), out));
            return out.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    public DType dtype() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            NativeLibrary.check(clif_h.clif_tensor_dtype(handle(), out));
            return DType.fromCode(out.get(ValueLayout.JAVA_INT, 0));
        }
    }

    public Device device() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            NativeLibrary.check(clif_h.clif_tensor_device(handle(), out));
            return new Device(out.get(ValueLayout.JAVA_INT, 0));
        }
    }

    public long byteSize() {
        return numel() * dtype().byteSize;
    }

    // ---- copying out -------------------------------------------------------------------------------

    /** Copies the elements (row-major) into {@code dst}, which must be exactly {@link #byteSize()} long. */
    public void copyTo(MemorySegment dst) {
        long bytes = byteSize();
        if (dst.byteSize() != bytes)
            throw new IllegalArgumentException("destination has " + dst.byteSize() + " bytes, tensor has " + bytes);
        if (dst.isNative()) {
            NativeLibrary.check(clif_h.clif_tensor_copy_to(handle(), dst, bytes));
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment tmp = arena.allocate(bytes, 8);
            NativeLibrary.check(clif_h.clif_tensor_copy_to(handle(), tmp, bytes));
            dst.copyFrom(tmp);
        }
    }

    public float[] toFloatArray() {
        requireDtype(DType.F32);
        float[] out = new float[Math.toIntExact(numel())];
        copyTo(MemorySegment.ofArray(out));
        return out;
    }

    public double[] toDoubleArray() {
        requireDtype(DType.F64);
        double[] out = new double[Math.toIntExact(numel())];
        copyTo(MemorySegment.ofArray(out));
        return out;
    }

    public long[] toLongArray() {
        requireDtype(DType.I64);
        long[] out = new long[Math.toIntExact(numel())];
        copyTo(MemorySegment.ofArray(out));
        return out;
    }

    public int[] toIntArray() {
        requireDtype(DType.I32);
        int[] out = new int[Math.toIntExact(numel())];
        copyTo(MemorySegment.ofArray(out));
        return out;
    }

    public byte[] toByteArray() {
        byte[] out = new byte[Math.toIntExact(byteSize())];
        copyTo(MemorySegment.ofArray(out));
        return out;
    }

    /** The single value of a one-element tensor, as a double. */
    public double item() {
        if (numel() != 1) throw new IllegalStateException("item() needs one element, tensor has shape " + Arrays.toString(shape()));
        try (Tensor d = to(Device.CPU, DType.F64)) {
            return d.toDoubleArray()[0];
        }
    }

    // ---- conversions and arithmetic ----------------------------------------------------------------

    public Tensor to(Device device, DType dtype) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_tensor_to(handle(), device.index(), dtype.code, out));
            return adopt(out);
        }
    }

    public Tensor to(Device device) {
        return to(device, dtype());
    }

    public Tensor to(DType dtype) {
        return to(device(), dtype);
    }

    /** A deep copy with its own storage. */
    public Tensor copy() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_tensor_clone(handle(), out));
            return adopt(out);
        }
    }

    public Tensor reshape(long... shape) {
        if (shape.length > MAX_DIMS) throw new IllegalArgumentException("at most " + MAX_DIMS + " dimensions");
        for (long d : shape)
            if (d < -1) throw new IllegalArgumentException("bad shape " + Arrays.toString(shape));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment s = arena.allocateFrom(ValueLayout.JAVA_LONG, shape);
            NativeLibrary.check(clif_h.clif_tensor_reshape(handle(), s, shape.length, out));
            return adopt(out);
        }
    }

    /** alpha * a + beta * b (broadcasting). */
    public static Tensor axpby(double alpha, Tensor a, double beta, Tensor b) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_tensor_axpby(alpha, a.handle(), beta, b.handle(), out));
            return adopt(out);
        }
    }

    public Tensor scale(double alpha) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_tensor_scale(handle(), alpha, out));
            return adopt(out);
        }
    }

    /** this * other, element-wise (broadcasting). */
    public Tensor mul(Tensor other) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_tensor_mul(handle(), other.handle(), out));
            return adopt(out);
        }
    }

    /** The matrix product of two 2-D tensors, [n, k] x [k, m] = [n, m] (tracked by autograd). */
    public Tensor matmul(Tensor other) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_tensor_matmul(handle(), other.handle(), out));
            return adopt(out);
        }
    }

    /** The transpose of a 2-D tensor (a view sharing storage; tracked by autograd). */
    public Tensor transpose() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_tensor_transpose(handle(), out));
            return adopt(out);
        }
    }

    /**
     * {@code this += alpha * other} in place, outside autograd: how a regulariser's gradient is added to a
     * parameter's gradient (see {@link dev.clif.model.NativeModule#gradient}).
     */
    public void addScaledInPlace(double alpha, Tensor other) {
        NativeLibrary.check(clif_h.clif_tensor_add_scaled_(handle(), alpha, other.handle()));
    }

    public Tensor clamp(double lo, double hi) {
        if (!(lo <= hi)) throw new IllegalArgumentException("clamp range [" + lo + ", " + hi + "] is empty");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_tensor_clamp(handle(), lo, hi, out));
            return adopt(out);
        }
    }

    /** Concatenation along {@code dim}. */
    public static Tensor cat(long dim, Tensor... parts) {
        if (parts.length == 0) throw new IllegalArgumentException("cat needs at least one tensor");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handles = arena.allocate(ValueLayout.ADDRESS, parts.length);
            for (int i = 0; i < parts.length; i++) handles.setAtIndex(ValueLayout.ADDRESS, i, parts[i].handle());
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_tensor_cat(handles, parts.length, dim, out));
            return adopt(out);
        }
    }

    /** Elements [start, start + length) of dimension {@code dim}, sharing storage. */
    public Tensor narrow(long dim, long start, long length) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_tensor_narrow(handle(), dim, start, length, out));
            return adopt(out);
        }
    }

    /** Keeps this computed tensor's gradient after a backward pass (read it with Autograd.grad). */
    public Tensor retainGrad() {
        NativeLibrary.check(clif_h.clif_tensor_retain_grad(handle()));
        return this;
    }

    /** The same values, cut from the autograd graph. */
    public Tensor detach() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(clif_h.clif_tensor_detach(handle(), out));
            return adopt(out);
        }
    }

    /** max |this - other| (same shapes). */
    public double maxAbsDiff(Tensor other) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_DOUBLE);
            NativeLibrary.check(clif_h.clif_tensor_max_abs_diff(handle(), other.handle(), out));
            return out.get(ValueLayout.JAVA_DOUBLE, 0);
        }
    }

    /** Σ x² over all elements, accumulated in double where the tensor lives (only the result leaves the device). */
    public double sumOfSquares() {
        return dot(this);
    }

    /** Σ this·other over all elements (shapes must match), accumulated in double where the tensors live. */
    public double dot(Tensor other) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_DOUBLE);
            NativeLibrary.check(clif_h.clif_tensor_dot(handle(), other.handle(), out));
            return out.get(ValueLayout.JAVA_DOUBLE, 0);
        }
    }

    public boolean allFinite() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            NativeLibrary.check(clif_h.clif_tensor_all_finite(handle(), out));
            return out.get(ValueLayout.JAVA_INT, 0) != 0;
        }
    }

    /** Native tensor handles alive in this process. */
    public static long liveCount() {
        NativeLibrary.load();
        return clif_h.clif_tensor_live_count();
    }

    @Override
    public String toString() {
        return closed ? "Tensor(closed)" : "Tensor(" + dtype() + ", " + Arrays.toString(shape()) + ", " + device() + ")";
    }

    // ---- helpers -----------------------------------------------------------------------------------

    private void requireDtype(DType expected) {
        DType actual = dtype();
        if (actual != expected) throw new IllegalStateException("tensor is " + actual + ", not " + expected);
    }

    private static long[] queryShape(MemorySegment ptr) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment nd = arena.allocate(ValueLayout.JAVA_INT);
            NativeLibrary.check(clif_h.clif_tensor_ndim(ptr, nd));
            int n = nd.get(ValueLayout.JAVA_INT, 0);
            MemorySegment s = arena.allocate(ValueLayout.JAVA_LONG, Math.max(n, 1));
            NativeLibrary.check(clif_h.clif_tensor_shape(ptr, s, n));
            return n == 0 ? new long[0] : s.toArray(ValueLayout.JAVA_LONG);
        }
    }

    private static MemorySegment shapeSegment(Arena arena, long[] shape) {
        return shape.length == 0 ? arena.allocate(ValueLayout.JAVA_LONG) : arena.allocateFrom(ValueLayout.JAVA_LONG, shape);
    }

    /** Validates a shape and returns its byte size for {@code dtype}. */
    public static long checkedBytes(long[] shape, DType dtype) {
        if (shape.length > MAX_DIMS)
            throw new IllegalArgumentException("at most " + MAX_DIMS + " dimensions, got " + shape.length);
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n = Math.multiplyExact(n, d);
        }
        return Math.multiplyExact(n, (long) dtype.byteSize);
    }

    private static void checkLength(int length, long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n = Math.multiplyExact(n, d);
        }
        if (n != length)
            throw new IllegalArgumentException("array has " + length + " elements but shape " + Arrays.toString(shape) + " needs " + n);
    }
}
