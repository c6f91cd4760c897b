package dev.clif.serve;

import org.eclipse.jetty.io.AbstractEndPoint;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;

import java.nio.ByteBuffer;
import java.util.concurrent.CancellationException;

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
    // Guarded by this: close() must never see "armed" between registering and a refused registration, or it would
    // fail Jetty's own read interest and break the connection for the client's next request.
    private boolean closed;
    /** True while the endpoint's read interest is ours (registered, not yet fired or failed). */
    private boolean armed;
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
            synchronized (DisconnectWatch.this) {
                armed = false;
                if (closed) return;
            }
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
            boolean wasClosed;
            synchronized (DisconnectWatch.this) {
                armed = false;
                wasClosed = closed;
            }
            if (!(x instanceof CancellationException) && !wasClosed) onGone.run();
        }

        @Override
        public InvocationType getInvocationType() {
            return InvocationType.NON_BLOCKING;
        }
    };

    private synchronized void arm() {
        if (endPoint == null || closed) return;
        armed = true;
        if (!endPoint.tryFillInterested(readable)) armed = false; // someone else reads: nothing to watch
    }

    /** Whether a byte of a next request was read (the reply must then close the connection). */
    boolean pipelined() {
        return pipelined;
    }

    @Override
    public synchronized void close() {
        if (endPoint == null || closed) return;
        closed = true;
        // only our own interest is withdrawn, never Jetty's
        if (armed) {
            armed = false;
            endPoint.getFillInterest().onFail(new CancellationException("reply ready"));
        }
    }
}
