package dev.clif.serve;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

import java.util.Base64;

/**
 * OpenAI's Images API as its clients call it: {@code POST /v1/images/generations} (model, prompt, n, size,
 * response_format b64_json, and Clif's negative_prompt, seed, steps, guidance_scale, scheduler) replying
 * {@code {"created", "data": [{"b64_json", "revised_prompt"}], "info"}}, and {@code GET /v1/models}.
 */
final class OpenAiApi {
    private final Server server;

    OpenAiApi(Server server) {
        this.server = server;
    }

    int generations(Request request, Response response, Callback callback) {
        ObjectNode body = RequestParser.parseObject(Http.body(request));
        ImageRequest r = server.parser().openAi(body);
        Job.Result result = server.generate(r, request, response);
        ObjectNode reply = Http.JSON.createObjectNode();
        reply.put("created", System.currentTimeMillis() / 1000);
        ArrayNode data = reply.putArray("data");
        for (byte[] png : result.pngs()) data.addObject().put("b64_json", Base64.getEncoder().encodeToString(png)).put("revised_prompt", r.prompt());
        reply.set("info", server.info(r, result));
        Http.json(response, callback, 200, reply);
        return 200;
    }

    int models(Response response, Callback callback) {
        ObjectNode reply = Http.JSON.createObjectNode();
        reply.put("object", "list");
        ArrayNode data = reply.putArray("data");
        for (String name : server.variants().names())
            data.addObject().put("id", name).put("object", "model").put("created", server.startedSeconds()).put("owned_by", "clif");
        Http.json(response, callback, 200, reply);
        return 200;
    }
}
