// CLIP (transformers 4.36 CLIPTextModel / CLIPModel): the text tower SD uses as its text encoder, and the
// full vision+text model the purge's directional loss uses. Parameter names are transformers' exactly
// (text_model.encoder.layers.N.self_attn.q_proj.weight, vision_model.pre_layrnorm.weight, ...).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "module.h"

namespace clif {
namespace clip {

struct TowerConfig {
    int64_t hidden_size = 0, intermediate_size = 0, num_hidden_layers = 0, num_attention_heads = 0;
    std::string hidden_act;
    double layer_norm_eps = 1e-5;
    // text only
    int64_t vocab_size = 0, max_position_embeddings = 0, eos_token_id = 2;
    // vision only
    int64_t image_size = 0, patch_size = 0, num_channels = 3;

    static TowerConfig text(const nlohmann::json &j, const std::string &where);
    static TowerConfig vision(const nlohmann::json &j, const std::string &where);
};

// Pre-LN transformer layer: x + attn(ln1(x)); x + mlp(ln2(x)).
struct EncoderLayer {
    LayerNorm layer_norm1, layer_norm2;
    Linear q_proj, k_proj, v_proj, out_proj, fc1, fc2;
    int64_t heads = 1;
    std::string act;
    EncoderLayer(Module &m, const std::string &prefix, const TowerConfig &c);
    at::Tensor operator()(const at::Tensor &x, const at::Tensor &mask) const;
};

struct TextTransformer {
    TowerConfig config;
    at::Tensor token_embedding, position_embedding;
    std::vector<EncoderLayer> layers;
    LayerNorm final_layer_norm;
    TextTransformer(Module &m, const std::string &prefix, const TowerConfig &c);

    // transformers' hidden_states[layers_to_run]: the embeddings followed by the first `layers_to_run`
    // encoder layers (0 = embeddings only), before final_layer_norm. ids already checked.
    at::Tensor run(const at::Tensor &input_ids, const at::Tensor &attention_mask, int64_t layers_to_run) const;
    // The same from token embeddings [B, S, hidden] (what token_embedding(ids) gives); positions added inside.
    at::Tensor run_embeds(const at::Tensor &token_embeds, const at::Tensor &attention_mask, int64_t layers_to_run) const;
    // Validates inputs_embeds ([B, S, hidden], S <= max positions, floating) and moves it to the model's device/dtype.
    at::Tensor check_embeds(const at::Tensor &embeds, at::Device device, at::ScalarType dtype) const;
    // Index of the pooled (EOS) position per row, as transformers picks it.
    at::Tensor eos_positions(const at::Tensor &input_ids) const;
    at::Tensor pooled(const at::Tensor &normed_last, const at::Tensor &input_ids) const;
    // The row of each sequence at positions[b] (int [B]).
    at::Tensor pooled_at(const at::Tensor &normed_last, const at::Tensor &positions) const;
    // Validates ids ([B, S], S <= max positions, ids < vocab) and returns them as int64 on `device`.
    at::Tensor check_ids(const at::Tensor &ids, at::Device device) const;
    at::Tensor additive_mask(const at::Tensor &attention_mask, int64_t batch, int64_t seq, at::ScalarType dtype,
                             at::Device device) const;
};

struct VisionTransformer {
    TowerConfig config;
    at::Tensor class_embedding, patch_embedding, position_embedding;
    LayerNorm pre_layrnorm;
    std::vector<EncoderLayer> layers;
    LayerNorm post_layernorm;
    VisionTransformer(Module &m, const std::string &prefix, const TowerConfig &c);
    // last_hidden_state [B, 1 + patches, hidden] (not post-layernormed).
    at::Tensor last_hidden(const at::Tensor &pixel_values, at::ScalarType dtype) const;
};

class TextModel : public Module {
public:
    explicit TextModel(const nlohmann::json &config);
    TextTransformer text;
    // CLIPTextModelWithProjection (SDXL's second text encoder): text_projection, no bias.
    bool with_projection = false;
    Linear text_projection;
};

class ClipModel : public Module {
public:
    explicit ClipModel(const nlohmann::json &config);
    TextTransformer text;
    VisionTransformer vision;
    Linear visual_projection, text_projection;
    at::Tensor logit_scale;
    int64_t projection_dim = 0;

    at::Tensor image_features(const at::Tensor &pixel_values) const;
    at::Tensor text_features(const at::Tensor &input_ids, const at::Tensor &attention_mask) const;
};

}  // namespace clip
}  // namespace clif
