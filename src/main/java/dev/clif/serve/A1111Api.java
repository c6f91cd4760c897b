package dev.clif.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

import java.nio.file.Path;
import java.util.Base64;

/**
 * AUTOMATIC1111's web-UI API as its clients send it: {@code POST /sdapi/v1/txt2img} (prompt, negative_prompt,
 * steps, cfg_scale, width, height, seed, batch_size, n_iter, sampler_name, override_settings.sd_model_checkpoint;
 * other fields ignored) replying {@code {"images": [base64 PNG], "parameters", "info"}} where {@code info} is a
 * JSON string, as A1111 sends it; {@code GET /sdapi/v1/sd-models} lists the variants.
 */
final class A1111Api {
    private final Server server;

    A1111Api(Server server) {
        this.server = server;
    }

    int txt2img(Request request, Response response, Callback callback) {
        ObjectNode body = RequestParser.parseObject(Http.body(request));
        ImageRequest r = server.parser().a1111(body);
        Job.Result result = server.generate(r, request, response);
        ObjectNode reply = Http.JSON.createObjectNode();
        ArrayNode images = reply.putArray("images");
        for (byte[] png : result.pngs()) images.add(Base64.getEncoder().encodeToString(png));
        reply.set("parameters", body);
        ObjectNode info = server.info(r, result);
        info.put("cfg_scale", r.guidance());
        info.put("sampler_name", r.scheduler() == null ? "default" : r.scheduler());
        info.put("sd_model_name", r.variant());
        try {
            reply.put("info", Http.JSON.writeValueAsString(info));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        Http.json(response, callback, 200, reply);
        return 200;
    }

    int sdModels(Response response, Callback callback) {
        ArrayNode list = Http.JSON.createArrayNode();
        for (String name : server.variants().names()) {
            Path file = name.equals(Variants.BASE) ? server.variants().baseDir() : server.variants().deltaFiles().get(name);
            list.addObject().put("title", name).put("model_name", name).putNull("hash").putNull("sha256")
                    .put("filename", file.toAbsolutePath().toString()).putNull("config");
        }
        Http.json(response, callback, 200, list);
        return 200;
    }
}
