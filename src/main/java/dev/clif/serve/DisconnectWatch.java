package dev.clif.serve;

import org.eclipse.jetty.io.AbstractEndPoint;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;

import java.nio.ByteBuffer;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Notices a client that closes its connection while its request waits in the queue. Jetty's HTTP/1.1 connection
 * does not read while a handler runs, so a close would go unseen until the reply is written; the watch registers
 * read interest on the connection's endpoint for the wait: a read of end-of-stream means the client is gone and
 * {@code onGone} runs (the job is cancelled and dropped unstarted). Clients do not pipeline HTTP/1.1 requests; if one
 * does, the byte read is kept from Jetty, so the reply closes the connection ({@link #pipelined}) and the client
 * resends, as RFC 9112 §9.3.2 lets it. {@link #close} withdraws the interest before the reply is written.
 */
final class DisconnectWatch implements AutoCloseable {
    private final AbstractEndPoint endPoint;
    private final Runnable onGone;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** True while the endpoint's read interest is ours (registered, not yet fired or failed). */
    private final AtomicBoolean armed = new AtomicBoolean();
    private volatile boolean pipelined;

    private DisconnectWatch(AbstractEndPoint endPoint, Runnable onGone) {
        this.endPoint = endPoint;
        this.onGone = onGone;
    }

    static DisconnectWatch start(Request request, Runnable onGone) {
        EndPoint ep = request.getConnectionMetaData().getConnection().getEndPoint();
        DisconnectWatch w = new DisconnectWatch(ep instanceof AbstractEndPoint a ? a : null, onGone);
        w.arm();
        return w;
    }

    private final Callback readable = new Callback() {
        @Override
        public void succeeded() {
            armed.set(false);
            if (closed.get()) return;
            try {
                ByteBuffer b = BufferUtil.allocate(1);
                int n = endPoint.fill(b);
                if (n < 0) {
                    onGone.run();
                    return;
                }
                if (n > 0) {
                    pipelined = true;
                    return;
                }
                arm();
            } catch (Exception e) {
                onGone.run();
            }
        }

        @Override
        public void failed(Throwable x) {
            armed.set(false);
            if (!(x instanceof CancellationException) && !closed.get()) onGone.run();
        }

        @Override
        public InvocationType getInvocationType() {
            return InvocationType.NON_BLOCKING;
        }
    };

    private void arm() {
        if (endPoint == null || closed.get()) return;
        armed.set(true);
        if (!endPoint.tryFillInterested(readable)) armed.set(false); // someone else reads: nothing to watch
    }

    /** Whether a byte of a next request was read (the reply must then close the connection). */
    boolean pipelined() {
        return pipelined;
    }

    @Override
    public void close() {
        if (endPoint == null || !closed.compareAndSet(false, true)) return;
        // only our own interest is withdrawn, never Jetty's
        if (armed.getAndSet(false)) endPoint.getFillInterest().onFail(new CancellationException("reply ready"));
    }
}
