package dev.clif.serve;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/** {@code GET /healthz} (the process answers), {@code GET /readyz} (models loaded, queue not full, not stopping), {@code GET /metrics}. */
final class OpsApi {
    private final Server server;

    OpsApi(Server server) {
        this.server = server;
    }

    int healthz(Response response, Callback callback) {
        ObjectNode o = Http.JSON.createObjectNode().put("status", "ok");
        Http.json(response, callback, 200, o);
        return 200;
    }

    int readyz(Response response, Callback callback) {
        boolean stopping = server.stopping();
        boolean full = server.batcher().full();
        ObjectNode o = Http.JSON.createObjectNode();
        o.put("status", stopping ? "stopping" : full ? "queue full" : "ready");
        o.put("models", String.join(",", server.variants().names()));
        o.put("queued", server.batcher().queued());
        int status = stopping || full ? 503 : 200;
        Http.json(response, callback, status, o);
        return status;
    }

    int metrics(Response response, Callback callback) {
        Http.send(response, callback, 200, server.metrics().contentType(), server.metrics().scrape());
        return 200;
    }
}
