// clif_clip_*: CLIP text encoder (CLIPTextModel), CLIP model (vision + text towers + projections) and the
// differentiable image preprocessing of the CLIP loss.
#include "clip.h"

#include <limits>

#include "clip_attention.h"
#include "clip_config.h"

namespace clif {
namespace clip {

using clipvae::get_double;
using clipvae::get_int;
using clipvae::get_string;

namespace {
TowerConfig common(const nlohmann::json &j, const std::string &where) {
    TowerConfig c;
    c.hidden_size = get_int(j, "hidden_size", where);
    c.intermediate_size = get_int(j, "intermediate_size", where);
    c.num_hidden_layers = get_int(j, "num_hidden_layers", where, 0);
    c.num_attention_heads = get_int(j, "num_attention_heads", where);
    c.hidden_act = get_string(j, "hidden_act", where);
    c.layer_norm_eps = get_double(j, "layer_norm_eps", where);
    check_arg(c.hidden_size % c.num_attention_heads == 0,
              where + " config: hidden_size " + std::to_string(c.hidden_size) + " is not divisible by num_attention_heads " +
                  std::to_string(c.num_attention_heads));
    check_arg(clipvae::known_activation(c.hidden_act), where + " config: unsupported hidden_act '" + c.hidden_act + "'");
    check_arg(c.layer_norm_eps > 0, where + " config: layer_norm_eps must be positive");
    return c;
}
}  // namespace

TowerConfig TowerConfig::text(const nlohmann::json &j, const std::string &where) {
    TowerConfig c = common(j, where);
    c.vocab_size = get_int(j, "vocab_size", where);
    c.max_position_embeddings = get_int(j, "max_position_embeddings", where);
    c.eos_token_id = get_int(j, "eos_token_id", where, 0);
    return c;
}

TowerConfig TowerConfig::vision(const nlohmann::json &j, const std::string &where) {
    TowerConfig c = common(j, where);
    c.image_size = get_int(j, "image_size", where);
    c.patch_size = get_int(j, "patch_size", where);
    c.num_channels = get_int(j, "num_channels", where);
    check_arg(c.image_size % c.patch_size == 0, where + " config: image_size " + std::to_string(c.image_size) +
                                                    " is not a multiple of patch_size " + std::to_string(c.patch_size));
    return c;
}

EncoderLayer::EncoderLayer(Module &m, const std::string &p, const TowerConfig &c)
    : layer_norm1(m, join(p, "layer_norm1"), c.hidden_size, c.layer_norm_eps),
      layer_norm2(m, join(p, "layer_norm2"), c.hidden_size, c.layer_norm_eps),
      q_proj(m, join(p, "self_attn.q_proj"), c.hidden_size, c.hidden_size),
      k_proj(m, join(p, "self_attn.k_proj"), c.hidden_size, c.hidden_size),
      v_proj(m, join(p, "self_attn.v_proj"), c.hidden_size, c.hidden_size),
      out_proj(m, join(p, "self_attn.out_proj"), c.hidden_size, c.hidden_size),
      fc1(m, join(p, "mlp.fc1"), c.hidden_size, c.intermediate_size),
      fc2(m, join(p, "mlp.fc2"), c.intermediate_size, c.hidden_size),
      heads(c.num_attention_heads),
      act(c.hidden_act) {}

at::Tensor EncoderLayer::operator()(const at::Tensor &x, const at::Tensor &mask) const {
    at::Tensor h = layer_norm1(x);
    at::Tensor q = clipvae::split_heads(q_proj(h), heads);
    at::Tensor k = clipvae::split_heads(k_proj(h), heads);
    at::Tensor v = clipvae::split_heads(v_proj(h), heads);
    at::Tensor a = out_proj(clipvae::merge_heads(clipvae::attention(q, k, v, mask, true)));
    at::Tensor y = x + a;
    return y + fc2(clipvae::activation(act, fc1(layer_norm2(y))));
}

TextTransformer::TextTransformer(Module &m, const std::string &p, const TowerConfig &c)
    : config(c),
      token_embedding(m.add(join(p, "embeddings.token_embedding.weight"), {c.vocab_size, c.hidden_size})),
      position_embedding(m.add(join(p, "embeddings.position_embedding.weight"), {c.max_position_embeddings, c.hidden_size})) {
    for (int64_t i = 0; i < c.num_hidden_layers; i++)
        layers.emplace_back(m, join(p, "encoder.layers." + std::to_string(i)), c);
    final_layer_norm = LayerNorm(m, join(p, "final_layer_norm"), c.hidden_size, c.layer_norm_eps);
}

at::Tensor TextTransformer::check_ids(const at::Tensor &ids, at::Device device) const {
    check_arg(ids.defined(), "input_ids is undefined");
    check_arg(ids.dim() == 2, "input_ids must be [batch, seq], got shape " + c10::str(ids.sizes()));
    check_arg(ids.scalar_type() == at::kLong || ids.scalar_type() == at::kInt,
              std::string("input_ids must be int64 or int32, got ") + c10::toString(ids.scalar_type()));
    check_arg(ids.size(0) > 0 && ids.size(1) > 0, "input_ids is empty: shape " + c10::str(ids.sizes()));
    check_arg(ids.size(1) <= config.max_position_embeddings,
              "input_ids has " + std::to_string(ids.size(1)) + " tokens but the model has only " +
                  std::to_string(config.max_position_embeddings) + " positions");
    at::Tensor out = ids.to(device, at::kLong);
    int64_t lo = out.min().item<int64_t>(), hi = out.max().item<int64_t>();
    check_arg(lo >= 0 && hi < config.vocab_size, "input_ids holds ids outside 0.." + std::to_string(config.vocab_size - 1) +
                                                     " (min " + std::to_string(lo) + ", max " + std::to_string(hi) + ")");
    return out;
}

at::Tensor TextTransformer::additive_mask(const at::Tensor &attention_mask, int64_t batch, int64_t seq, at::ScalarType dtype,
                                          at::Device device) const {
    auto opts = at::TensorOptions().dtype(dtype).device(device);
    const double lowest = dtype == at::kDouble ? std::numeric_limits<double>::lowest()
                          : dtype == at::kHalf ? -65504.0
                          : dtype == at::kBFloat16 ? -3.3895313892515355e38
                                                   : static_cast<double>(std::numeric_limits<float>::lowest());
    // Causal: position i sees keys 0..i (transformers' _create_4d_causal_attention_mask).
    at::Tensor mask = at::full({seq, seq}, lowest, opts).triu(1).view({1, 1, seq, seq});
    if (attention_mask.defined()) {
        check_arg(attention_mask.dim() == 2 && attention_mask.size(0) == batch && attention_mask.size(1) == seq,
                  "attention_mask must have the shape of input_ids [" + std::to_string(batch) + ", " + std::to_string(seq) +
                      "], got " + c10::str(attention_mask.sizes()));
        at::Tensor keep = attention_mask.to(device).ne(0).view({batch, 1, 1, seq});
        at::Tensor padding = at::zeros({batch, 1, 1, seq}, opts).masked_fill(keep.logical_not(), lowest);
        mask = mask + padding;  // as transformers adds the two: doubly masked entries become -inf
    }
    return mask;
}

at::Tensor TextTransformer::run(const at::Tensor &ids, const at::Tensor &attention_mask, int64_t layers_to_run) const {
    return run_embeds(at::embedding(token_embedding, ids), attention_mask, layers_to_run);
}

at::Tensor TextTransformer::check_embeds(const at::Tensor &embeds, at::Device device, at::ScalarType dtype) const {
    check_arg(embeds.defined(), "inputs_embeds is undefined");
    check_arg(embeds.dim() == 3 && embeds.size(2) == config.hidden_size,
              "inputs_embeds must be [batch, seq, " + std::to_string(config.hidden_size) + "], got shape " + c10::str(embeds.sizes()));
    check_arg(at::isFloatingType(embeds.scalar_type()), "inputs_embeds must be floating point");
    check_arg(embeds.size(0) > 0 && embeds.size(1) > 0, "inputs_embeds is empty: shape " + c10::str(embeds.sizes()));
    check_arg(embeds.size(1) <= config.max_position_embeddings,
              "inputs_embeds has " + std::to_string(embeds.size(1)) + " tokens but the model has only " +
                  std::to_string(config.max_position_embeddings) + " positions");
    return embeds.to(device, dtype);  // differentiable: the gradient flows back to the caller's tensor
}

at::Tensor TextTransformer::run_embeds(const at::Tensor &token_embeds, const at::Tensor &attention_mask,
                                       int64_t layers_to_run) const {
    // The one path both entries share, so embeds = token_embedding(ids) gives bit-identical outputs.
    const int64_t seq = token_embeds.size(1);
    at::Tensor positions = at::arange(seq, at::TensorOptions().dtype(at::kLong).device(token_embeds.device()));
    at::Tensor h = token_embeds + at::embedding(position_embedding, positions).unsqueeze(0);
    if (layers_to_run == 0) return h;
    at::Tensor mask = additive_mask(attention_mask, token_embeds.size(0), seq, h.scalar_type(), h.device());
    for (int64_t i = 0; i < layers_to_run; i++) h = layers[static_cast<size_t>(i)](h, mask);
    return h;
}

at::Tensor TextTransformer::eos_positions(const at::Tensor &ids) const {
    // Configs converted before transformers PR #24773 carry eos_token_id 2: then the EOS is taken to be
    // the largest id of the row (argmax); otherwise the first position holding eos_token_id.
    if (config.eos_token_id == 2) return ids.to(at::kInt).argmax(-1);
    return ids.eq(config.eos_token_id).to(at::kInt).argmax(-1);
}

at::Tensor TextTransformer::pooled(const at::Tensor &normed_last, const at::Tensor &ids) const {
    return pooled_at(normed_last, eos_positions(ids));
}

at::Tensor TextTransformer::pooled_at(const at::Tensor &normed_last, const at::Tensor &positions) const {
    at::Tensor rows = at::arange(normed_last.size(0), at::TensorOptions().dtype(at::kLong).device(normed_last.device()));
    return normed_last.index({rows, positions.to(normed_last.device(), at::kLong)});
}

VisionTransformer::VisionTransformer(Module &m, const std::string &p, const TowerConfig &c) : config(c) {
    const int64_t grid = c.image_size / c.patch_size;
    class_embedding = m.add(join(p, "embeddings.class_embedding"), {c.hidden_size});
    patch_embedding = m.add(join(p, "embeddings.patch_embedding.weight"), {c.hidden_size, c.num_channels, c.patch_size, c.patch_size});
    position_embedding = m.add(join(p, "embeddings.position_embedding.weight"), {grid * grid + 1, c.hidden_size});
    pre_layrnorm = LayerNorm(m, join(p, "pre_layrnorm"), c.hidden_size, c.layer_norm_eps);
    for (int64_t i = 0; i < c.num_hidden_layers; i++)
        layers.emplace_back(m, join(p, "encoder.layers." + std::to_string(i)), c);
    post_layernorm = LayerNorm(m, join(p, "post_layernorm"), c.hidden_size, c.layer_norm_eps);
}

at::Tensor VisionTransformer::last_hidden(const at::Tensor &pixel_values, at::ScalarType dtype) const {
    check_arg(pixel_values.defined(), "pixel_values is undefined");
    check_arg(pixel_values.dim() == 4 && pixel_values.size(1) == config.num_channels &&
                  pixel_values.size(2) == config.image_size && pixel_values.size(3) == config.image_size,
              "pixel_values must be [batch, " + std::to_string(config.num_channels) + ", " + std::to_string(config.image_size) +
                  ", " + std::to_string(config.image_size) + "], got " + c10::str(pixel_values.sizes()));
    check_arg(at::isFloatingType(pixel_values.scalar_type()), "pixel_values must be floating point");
    at::Tensor x = pixel_values.to(patch_embedding.device(), dtype);
    const int64_t batch = x.size(0);
    at::Tensor patches = at::conv2d(x, patch_embedding, {}, {config.patch_size, config.patch_size})
                             .flatten(2)
                             .transpose(1, 2);  // [B, grid*grid, hidden]
    at::Tensor cls = class_embedding.view({1, 1, -1}).expand({batch, 1, config.hidden_size});
    at::Tensor h = at::cat({cls, patches}, 1) + position_embedding.unsqueeze(0);
    h = pre_layrnorm(h);
    at::Tensor none;
    for (const auto &layer : layers) h = layer(h, none);
    return h;
}

TextModel::TextModel(const nlohmann::json &config) : text(*this, "text_model", TowerConfig::text(config, "clip text")) {
    auto it = config.find("with_projection");
    with_projection = it != config.end() && it->is_boolean() && it->get<bool>();
    if (with_projection)
        text_projection = Linear(*this, "text_projection", text.config.hidden_size,
                                 get_int(config, "projection_dim", "clip text"), false);
}

ClipModel::ClipModel(const nlohmann::json &config)
    : text(*this, "text_model", TowerConfig::text(clipvae::field(config, "text_config", "clip"), "clip text_config")),
      vision(*this, "vision_model", TowerConfig::vision(clipvae::field(config, "vision_config", "clip"), "clip vision_config")) {
    projection_dim = get_int(config, "projection_dim", "clip");
    visual_projection = Linear(*this, "visual_projection", vision.config.hidden_size, projection_dim, false);
    text_projection = Linear(*this, "text_projection", text.config.hidden_size, projection_dim, false);
    logit_scale = add("logit_scale", {});
}

at::Tensor ClipModel::image_features(const at::Tensor &pixel_values) const {
    at::Tensor last = vision.last_hidden(pixel_values, dtype());
    return visual_projection(vision.post_layernorm(last.select(1, 0)));
}

at::Tensor ClipModel::text_features(const at::Tensor &input_ids, const at::Tensor &attention_mask) const {
    at::Tensor ids = text.check_ids(input_ids, device());
    at::Tensor last = text.final_layer_norm(text.run(ids, attention_mask, text.config.num_hidden_layers));
    return text_projection(text.pooled(last, ids));
}

}  // namespace clip
}  // namespace clif

using clif::check_arg;
using clif::not_null;
using clif::unwrap;
using clif::wrap;

namespace {
at::Tensor optional_tensor(clif_tensor t) { return t == nullptr ? at::Tensor() : t->t; }

at::Tensor normalize_rows(const at::Tensor &x) { return x / x.norm(2, {-1}, true); }
}  // namespace

extern "C" {

int32_t clif_clip_text_new(const char *config_json, int64_t len, clif_module *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        auto config = clif::clipvae::parse_config(config_json, len, "clip text");
        *out = clif::wrap_module(std::make_unique<clif::clip::TextModel>(config), "clip_text");
    });
}

namespace {
// What clif_clip_text_forward and clif_clip_text_forward_embeds share after the token embedding: the layers,
// final_layer_norm, clip_skip and the pooled row at each sequence's EOS position.
void text_forward(const clif::clip::TextTransformer &tt, const at::Tensor &token_embeds, const at::Tensor &mask,
                  const at::Tensor &positions, int32_t clip_skip, clif_tensor *out_last_hidden, clif_tensor *out_pooled) {
    const int64_t layers = tt.config.num_hidden_layers;
    // hidden_states[-(clip_skip + 1)] is the output after (layers - clip_skip) layers; the pooled
    // output always comes from the last layer.
    at::Tensor skipped = tt.run_embeds(token_embeds, mask, layers - clip_skip);
    at::Tensor last = skipped;
    if (out_pooled != nullptr && clip_skip > 0) {
        at::Tensor additive =
            tt.additive_mask(mask, token_embeds.size(0), token_embeds.size(1), last.scalar_type(), last.device());
        for (int64_t i = layers - clip_skip; i < layers; i++) last = tt.layers[static_cast<size_t>(i)](last, additive);
    }
    at::Tensor result = tt.final_layer_norm(skipped);
    at::Tensor pooled =
        out_pooled != nullptr ? tt.pooled_at(clip_skip == 0 ? result : tt.final_layer_norm(last), positions) : at::Tensor();
    if (out_last_hidden != nullptr) *out_last_hidden = wrap(result);
    if (out_pooled != nullptr) *out_pooled = wrap(pooled);
}

void check_clip_skip(const clif::clip::TextTransformer &tt, int32_t clip_skip) {
    const int64_t layers = tt.config.num_hidden_layers;
    check_arg(clip_skip >= 0 && clip_skip < layers + 1,
              "clip_skip " + std::to_string(clip_skip) + " is outside 0.." + std::to_string(layers));
}
}  // namespace

int32_t clif_clip_text_forward(clif_module m, clif_tensor input_ids, clif_tensor attention_mask, int32_t clip_skip,
                               int32_t grad, clif_tensor *out_last_hidden, clif_tensor *out_pooled) {
    return clif::guard(__func__, [&] {
        auto &model = clif::unwrap_module<clif::clip::TextModel>(m, "clip_text");
        const auto &tt = model.text;
        check_clip_skip(tt, clip_skip);
        check_arg(out_last_hidden != nullptr || out_pooled != nullptr, "no output requested");
        clif::GradMode mode(grad != 0);
        at::Tensor ids = tt.check_ids(unwrap(input_ids, "input_ids"), model.device());
        at::Tensor positions = out_pooled != nullptr ? tt.eos_positions(ids) : at::Tensor();
        text_forward(tt, at::embedding(tt.token_embedding, ids), optional_tensor(attention_mask), positions, clip_skip,
                     out_last_hidden, out_pooled);
    });
}

int32_t clif_clip_text_forward_embeds(clif_module m, clif_tensor inputs_embeds, clif_tensor eos_positions,
                                      clif_tensor attention_mask, int32_t clip_skip, int32_t grad,
                                      clif_tensor *out_last_hidden, clif_tensor *out_pooled) {
    return clif::guard(__func__, [&] {
        auto &model = clif::unwrap_module<clif::clip::TextModel>(m, "clip_text");
        const auto &tt = model.text;
        check_clip_skip(tt, clip_skip);
        check_arg(out_last_hidden != nullptr || out_pooled != nullptr, "no output requested");
        clif::GradMode mode(grad != 0);
        at::Tensor embeds = tt.check_embeds(unwrap(inputs_embeds, "inputs_embeds"), model.device(), model.dtype());
        at::Tensor positions;
        if (out_pooled != nullptr) {
            check_arg(eos_positions != nullptr, "eos_positions is needed for the pooled output");
            positions = eos_positions->t;
            check_arg(positions.dim() == 1 && positions.size(0) == embeds.size(0),
                      "eos_positions must be [" + std::to_string(embeds.size(0)) + "], got shape " + c10::str(positions.sizes()));
            check_arg(!at::isFloatingType(positions.scalar_type()) && positions.scalar_type() != at::kBool,
                      "eos_positions must be integer");
            int64_t lo = positions.min().item<int64_t>(), hi = positions.max().item<int64_t>();
            check_arg(lo >= 0 && hi < embeds.size(1), "eos_positions holds positions outside 0.." +
                                                          std::to_string(embeds.size(1) - 1) + " (min " + std::to_string(lo) +
                                                          ", max " + std::to_string(hi) + ")");
        }
        text_forward(tt, embeds, optional_tensor(attention_mask), positions, clip_skip, out_last_hidden, out_pooled);
    });
}

int32_t clif_clip_text_hidden_state(clif_module m, clif_tensor input_ids, clif_tensor attention_mask, int32_t index,
                                    int32_t grad, clif_tensor *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        auto &model = clif::unwrap_module<clif::clip::TextModel>(m, "clip_text");
        const auto &tt = model.text;
        check_arg(index >= 0 && index <= tt.config.num_hidden_layers,
                  "hidden state index " + std::to_string(index) + " is outside 0.." + std::to_string(tt.config.num_hidden_layers));
        clif::GradMode mode(grad != 0);
        at::Tensor ids = tt.check_ids(unwrap(input_ids, "input_ids"), model.device());
        *out = wrap(tt.run(ids, optional_tensor(attention_mask), index));
    });
}

int32_t clif_clip_text_encode(clif_module m, clif_tensor input_ids, clif_tensor attention_mask, int32_t index,
                              int32_t grad, clif_tensor *out_hidden, clif_tensor *out_pooled) {
    return clif::guard(__func__, [&] {
        auto &model = clif::unwrap_module<clif::clip::TextModel>(m, "clip_text");
        const auto &tt = model.text;
        const int64_t layers = tt.config.num_hidden_layers;
        check_arg(index >= 0 && index <= layers,
                  "hidden state index " + std::to_string(index) + " is outside 0.." + std::to_string(layers));
        check_arg(out_hidden != nullptr || out_pooled != nullptr, "no output requested");
        clif::GradMode mode(grad != 0);
        at::Tensor ids = tt.check_ids(unwrap(input_ids, "input_ids"), model.device());
        at::Tensor mask = optional_tensor(attention_mask);
        at::Tensor hidden = tt.run(ids, mask, index);
        if (out_pooled != nullptr) {
            at::Tensor last = hidden;
            if (index < layers) {
                at::Tensor additive = tt.additive_mask(mask, ids.size(0), ids.size(1), last.scalar_type(), last.device());
                for (int64_t i = index; i < layers; i++) last = tt.layers[static_cast<size_t>(i)](last, additive);
            }
            at::Tensor pooled = tt.pooled(tt.final_layer_norm(last), ids);
            *out_pooled = wrap(model.with_projection ? model.text_projection(pooled) : pooled);
        }
        if (out_hidden != nullptr) *out_hidden = wrap(hidden);
    });
}

int32_t clif_clip_new(const char *config_json, int64_t len, clif_module *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        auto config = clif::clipvae::parse_config(config_json, len, "clip");
        *out = clif::wrap_module(std::make_unique<clif::clip::ClipModel>(config), "clip");
    });
}

int32_t clif_clip_image_features(clif_module m, clif_tensor pixel_values, int32_t grad, clif_tensor *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        auto &model = clif::unwrap_module<clif::clip::ClipModel>(m, "clip");
        clif::GradMode mode(grad != 0);
        *out = wrap(model.image_features(unwrap(pixel_values, "pixel_values")));
    });
}

int32_t clif_clip_text_features(clif_module m, clif_tensor input_ids, clif_tensor attention_mask, int32_t grad,
                                clif_tensor *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        auto &model = clif::unwrap_module<clif::clip::ClipModel>(m, "clip");
        clif::GradMode mode(grad != 0);
        *out = wrap(model.text_features(unwrap(input_ids, "input_ids"), optional_tensor(attention_mask)));
    });
}

int32_t clif_clip_vision_forward(clif_module m, clif_tensor pixel_values, int32_t grad, clif_tensor *out_last_hidden,
                                 clif_tensor *out_pooled) {
    return clif::guard(__func__, [&] {
        auto &model = clif::unwrap_module<clif::clip::ClipModel>(m, "clip");
        clif::GradMode mode(grad != 0);
        at::Tensor last = model.vision.last_hidden(unwrap(pixel_values, "pixel_values"), model.dtype());
        if (out_pooled != nullptr) *out_pooled = wrap(model.vision.post_layernorm(last.select(1, 0)));
        if (out_last_hidden != nullptr) *out_last_hidden = wrap(last);
    });
}

int32_t clif_clip_forward(clif_module m, clif_tensor pixel_values, clif_tensor input_ids, clif_tensor attention_mask,
                          int32_t grad, clif_tensor *out_logits_per_image, clif_tensor *out_logits_per_text,
                          clif_tensor *out_image_embeds, clif_tensor *out_text_embeds) {
    return clif::guard(__func__, [&] {
        auto &model = clif::unwrap_module<clif::clip::ClipModel>(m, "clip");
        clif::GradMode mode(grad != 0);
        at::Tensor image = normalize_rows(model.image_features(unwrap(pixel_values, "pixel_values")));
        at::Tensor text = normalize_rows(model.text_features(unwrap(input_ids, "input_ids"), optional_tensor(attention_mask)));
        at::Tensor logits_per_text = at::matmul(text, image.t()) * model.logit_scale.exp();
        if (out_logits_per_image != nullptr) *out_logits_per_image = wrap(logits_per_text.t());
        if (out_logits_per_text != nullptr) *out_logits_per_text = wrap(logits_per_text);
        if (out_image_embeds != nullptr) *out_image_embeds = wrap(image);
        if (out_text_embeds != nullptr) *out_text_embeds = wrap(text);
    });
}

int32_t clif_clip_preprocess(clif_tensor images, int64_t height, int64_t width, const double *mean, const double *std,
                             int32_t channels, int32_t grad, clif_tensor *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        not_null(mean, "mean");
        not_null(std, "std");
        const at::Tensor &x = unwrap(images, "images");
        check_arg(x.dim() == 4 && x.size(1) == channels,
                  "images must be [batch, " + std::to_string(channels) + ", height, width], got " + c10::str(x.sizes()));
        check_arg(at::isFloatingType(x.scalar_type()), "images must be floating point");
        check_arg(height > 0 && width > 0, "target size must be positive");
        for (int32_t c = 0; c < channels; c++) check_arg(std[c] != 0, "std[" + std::to_string(c) + "] is zero");
        clif::GradMode mode(grad != 0);
        at::Tensor resized = (x.size(2) == height && x.size(3) == width)
                                 ? x
                                 : at::upsample_bicubic2d(x, {height, width}, false);
        // mean/std as float32 values (as the processor's numpy arrays are), then in the images' dtype.
        at::Tensor m_t = at::tensor(std::vector<double>(mean, mean + channels), at::TensorOptions().dtype(at::kDouble))
                             .to(at::kFloat).to(x.device(), x.scalar_type()).view({1, channels, 1, 1});
        at::Tensor s_t = at::tensor(std::vector<double>(std, std + channels), at::TensorOptions().dtype(at::kDouble))
                             .to(at::kFloat).to(x.device(), x.scalar_type()).view({1, channels, 1, 1});
        *out = wrap((resized - m_t) / s_t);
    });
}

}
