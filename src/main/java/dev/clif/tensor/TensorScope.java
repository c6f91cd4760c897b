package dev.clif.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * Owns the tensors created inside it on this thread and frees them when it closes, newest first,
 * unless they were taken out with {@link Tensor#detachFromScope()} (or {@link #keep}). Scopes nest:
 * a tensor belongs to the innermost open scope of the thread that created it.
 *
 * <pre>{@code
 * try (TensorScope scope = TensorScope.open()) {
 *     Tensor a = Tensor.randn(1, DType.F32, Device.CPU, 2, 3);
 *     Tensor b = a.scale(2);              // freed with the scope
 *     return scope.keep(b.clone());       // survives it: the caller closes it
 * }
 * }</pre>
 *
 * A scope is confined to the thread that opened it.
 */
public final class TensorScope implements AutoCloseable {
    private static final ThreadLocal<ArrayDeque<TensorScope>> STACK = ThreadLocal.withInitial(ArrayDeque::new);

    private final Set<Tensor> owned = Collections.newSetFromMap(new IdentityHashMap<>());
    private final List<Tensor> order = new ArrayList<>();
    private final Thread thread = Thread.currentThread();
    private boolean closed;

    private TensorScope() {}

    public static TensorScope open() {
        TensorScope scope = new TensorScope();
        STACK.get().push(scope);
        return scope;
    }

    /** The innermost open scope of this thread, or null. */
    static TensorScope current() {
        return STACK.get().peek();
    }

    void add(Tensor t) {
        owned.add(t);
        order.add(t);
    }

    void remove(Tensor t) {
        owned.remove(t);
    }

    /** Takes {@code t} out of this scope: the caller now owns it. Returns it, for chaining. */
    public <T extends Tensor> T keep(T t) {
        if (t.scope() == this) t.detachFromScope();
        return t;
    }

    /** Number of tensors this scope still owns. */
    public int size() {
        return owned.size();
    }

    @Override
    public void close() {
        if (closed) return;
        if (Thread.currentThread() != thread)
            throw new IllegalStateException("a TensorScope must be closed on the thread that opened it");
        ArrayDeque<TensorScope> stack = STACK.get();
        if (stack.peek() != this)
            throw new IllegalStateException("TensorScopes must be closed innermost first");
        stack.pop();
        closed = true;
        RuntimeException failure = null;
        for (int i = order.size() - 1; i >= 0; i--) {
            Tensor t = order.get(i);
            if (!owned.contains(t)) continue;
            try {
                t.close();
            } catch (RuntimeException e) {
                if (failure == null) failure = e;
            }
        }
        owned.clear();
        order.clear();
        if (failure != null) throw failure;
    }
}
