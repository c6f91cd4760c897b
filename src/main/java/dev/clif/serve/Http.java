package dev.clif.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Reading bounded bodies and writing JSON replies and OpenAI-shaped errors on Jetty's core API. */
final class Http {
    static final ObjectMapper JSON = new ObjectMapper();

    private Http() {}

    /**
     * A body over the limit but below this is read to its end before the 413: a client still sending when the server
     * answers and closes sees a reset instead of the reply (a CI run lost the 413 of a 70 kB body that way).
     */
    static final long DRAIN_LIMIT = 1 << 20;

    /** The body, at most {@link RequestParser#MAX_BODY_BYTES}; 413 when the client says or sends more. */
    static byte[] body(Request request) {
        long declared = request.getLength();
        try (InputStream in = Content.Source.asInputStream(request)) {
            if (declared > RequestParser.MAX_BODY_BYTES) {
                if (declared <= DRAIN_LIMIT) discard(in, declared);
                throw new ApiException(413, "invalid_request_error", null, "body_too_large",
                        "the request body is " + declared + " bytes, at most " + RequestParser.MAX_BODY_BYTES + " are accepted", 0);
            }
            byte[] b = in.readNBytes(RequestParser.MAX_BODY_BYTES + 1);
            if (b.length > RequestParser.MAX_BODY_BYTES) {
                discard(in, DRAIN_LIMIT - b.length);
                throw new ApiException(413, "invalid_request_error", null, "body_too_large",
                        "the request body is over " + RequestParser.MAX_BODY_BYTES + " bytes", 0);
            }
            return b;
        } catch (IOException e) {
            throw new ApiException(400, "invalid_request_error", null, "unreadable_body", "cannot read the request body: " + e.getMessage(), 0);
        }
    }

    /** Reads and drops up to {@code limit} bytes, stopping early at the end of the body. */
    private static void discard(InputStream in, long limit) throws IOException {
        byte[] buf = new byte[8192];
        for (long left = limit; left > 0; ) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, left));
            if (n < 0) return;
            left -= n;
        }
    }

    static void json(Response response, Callback callback, int status, Object body) {
        byte[] bytes;
        try {
            bytes = JSON.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        send(response, callback, status, "application/json", bytes);
    }

    static void send(Response response, Callback callback, int status, String contentType, byte[] bytes) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
        response.write(true, ByteBuffer.wrap(bytes), callback);
    }

    /** OpenAI's error shape, {"error": {"message", "type", "param", "code"}}, plus FastAPI's "detail" for A1111 clients. */
    static ObjectNode errorBody(ApiException e) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode err = root.putObject("error");
        err.put("message", e.getMessage());
        err.put("type", e.type());
        if (e.param() == null) err.putNull("param"); else err.put("param", e.param());
        if (e.code() == null) err.putNull("code"); else err.put("code", e.code());
        root.put("detail", e.getMessage());
        return root;
    }

    static void error(Response response, Callback callback, ApiException e) {
        if (e.retryAfterSeconds() > 0) response.getHeaders().put(HttpHeader.RETRY_AFTER, e.retryAfterSeconds());
        json(response, callback, e.status(), errorBody(e));
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
