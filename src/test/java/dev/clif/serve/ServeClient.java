package dev.clif.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/** A small loopback HTTP client for the serve tests. */
record ServeClient(String baseUrl) {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();

    record Reply(int status, JsonNode json, String raw, HttpResponse<byte[]> response) {
        String header(String name) {
            return response.headers().firstValue(name).orElse(null);
        }

        /** The PNGs of an OpenAI or A1111 reply. */
        List<byte[]> pngs() {
            List<byte[]> out = new ArrayList<>();
            JsonNode data = json.has("data") ? json.get("data") : json.get("images");
            for (JsonNode d : data) out.add(Base64.getDecoder().decode(d.isTextual() ? d.asText() : d.get("b64_json").asText()));
            return out;
        }
    }

    Reply post(String path, String body) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofMinutes(3)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    Reply postBytes(String path, byte[] body, String contentType) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofMinutes(3)).header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build());
    }

    Reply get(String path) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofMinutes(1)).GET().build());
    }

    Reply send(HttpRequest req) {
        try {
            HttpResponse<byte[]> r = HTTP.send(req, HttpResponse.BodyHandlers.ofByteArray());
            String raw = new String(r.body(), java.nio.charset.StandardCharsets.UTF_8);
            JsonNode json = null;
            try {
                json = JSON.readTree(r.body());
            } catch (IOException notJson) {
                // metrics are text
            }
            return new Reply(r.statusCode(), json, raw, r);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
