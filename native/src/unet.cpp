// clif_unet_*: the Stable Diffusion UNet.
#include "unet.h"

#include <nlohmann/json.hpp>

using nlohmann::json;

namespace clif {

namespace {

const json &field(const json &j, const char *name, const std::string &where) {
    auto it = j.find(name);
    if (it == j.end()) throw std::invalid_argument("UNet config: " + where + " has no '" + name + "'");
    return *it;
}

int64_t get_int(const json &j, const char *name, const std::string &where = "config") {
    const json &v = field(j, name, where);
    if (!v.is_number_integer()) throw std::invalid_argument("UNet config: " + where + "." + name + " must be an integer");
    return v.get<int64_t>();
}

double get_double(const json &j, const char *name, const std::string &where = "config") {
    const json &v = field(j, name, where);
    if (!v.is_number()) throw std::invalid_argument("UNet config: " + where + "." + name + " must be a number");
    return v.get<double>();
}

bool get_bool(const json &j, const char *name, const std::string &where = "config") {
    const json &v = field(j, name, where);
    if (!v.is_boolean()) throw std::invalid_argument("UNet config: " + where + "." + name + " must be true or false");
    return v.get<bool>();
}

std::string get_string_or_empty(const json &j, const char *name) {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) return "";
    if (!it->is_string()) throw std::invalid_argument(std::string("UNet config: ") + name + " must be a string or null");
    return it->get<std::string>();
}

std::vector<int64_t> get_ints(const json &j, const char *name, const std::string &where) {
    const json &v = field(j, name, where);
    if (!v.is_array()) throw std::invalid_argument("UNet config: " + where + "." + name + " must be a list");
    std::vector<int64_t> out;
    for (const auto &e : v) {
        if (!e.is_number_integer())
            throw std::invalid_argument("UNet config: " + where + "." + name + " must hold integers");
        out.push_back(e.get<int64_t>());
    }
    return out;
}

json parse(const std::string &text) {
    try {
        return json::parse(text);
    } catch (const json::exception &e) {
        throw std::invalid_argument(std::string("UNet config is not valid JSON: ") + e.what());
    }
}

// Block options shared by every block, plus this block's attention settings.
BlockOptions block_options(const json &b, const std::string &where, const BlockOptions &base, bool mid) {
    BlockOptions o = base;
    o.layers = mid ? 1 : get_int(b, "num_layers", where);
    check_arg(o.layers >= 1, "UNet config: " + where + ".num_layers must be at least 1");
    bool attn = mid || get_bool(b, "cross_attention", where);
    o.transformer_layers.clear();
    if (attn) {
        o.transformer_layers = get_ints(b, "transformer_layers", where);
        check_arg(static_cast<int64_t>(o.transformer_layers.size()) == o.layers,
                  "UNet config: " + where + ".transformer_layers needs " + std::to_string(o.layers) + " entries");
        for (int64_t n : o.transformer_layers)
            check_arg(n >= 1, "UNet config: " + where + ".transformer_layers entries must be >= 1");
        o.attn.heads = get_int(b, "num_attention_heads", where);
        o.attn.cross_attention_dim = get_int(b, "cross_attention_dim", where);
        o.attn.only_cross_attention = mid ? false : get_bool(b, "only_cross_attention", where);
        check_arg(o.attn.heads >= 1, "UNet config: " + where + ".num_attention_heads must be >= 1");
        check_arg(o.attn.cross_attention_dim >= 1, "UNet config: " + where + ".cross_attention_dim must be >= 1");
    }
    return o;
}

}  // namespace

UNet::UNet(const std::string &config_json) {
    const json c = parse(config_json);
    check_arg(c.is_object(), "UNet config must be a JSON object");
    in_channels_ = get_int(c, "in_channels");
    out_channels_ = get_int(c, "out_channels");
    center_input_sample_ = get_bool(c, "center_input_sample");
    flip_sin_to_cos_ = get_bool(c, "flip_sin_to_cos");
    freq_shift_ = get_double(c, "freq_shift");
    act_ = parse_activation(get_string_or_empty(c, "act_fn"), "act_fn");
    check_arg(act_ != Activation::None, "UNet config: act_fn is required");
    time_embed_act_ = parse_activation(get_string_or_empty(c, "time_embedding_act_fn"), "time_embedding_act_fn");
    Activation post_act = parse_activation(get_string_or_empty(c, "timestep_post_act"), "timestep_post_act");
    const std::vector<int64_t> channels = get_ints(c, "block_out_channels", "config");
    check_arg(!channels.empty(), "UNet config: block_out_channels is empty");
    for (int64_t ch : channels) check_arg(ch >= 1, "UNet config: block_out_channels entries must be >= 1");
    const int64_t time_embed_dim = get_int(c, "time_embed_dim");
    const int64_t groups = get_int(c, "norm_num_groups");
    const double eps = get_double(c, "norm_eps");
    const int64_t k_in = get_int(c, "conv_in_kernel"), k_out = get_int(c, "conv_out_kernel");
    check_arg(k_in >= 1 && k_out >= 1, "UNet config: conv kernels must be >= 1");
    const int64_t downsample_padding = get_int(c, "downsample_padding");
    const bool linear_proj = get_bool(c, "use_linear_projection");
    const bool upcast = get_bool(c, "upcast_attention");

    conv_in_ = Conv2d(*this, "conv_in", in_channels_, channels[0], k_in, 1, (k_in - 1) / 2);
    time_proj_dim_ = channels[0];
    time_embedding_ = TimestepEmbedding(*this, "time_embedding", time_proj_dim_, time_embed_dim, act_, post_act);
    const std::string added = get_string_or_empty(c, "addition_embed_type");
    if (added == "text_time") {
        // diffusers: Timesteps(addition_time_embed_dim, flip_sin_to_cos, freq_shift) and
        // TimestepEmbedding(projection_class_embeddings_input_dim, time_embed_dim) with its default silu.
        text_time_ = true;
        add_time_dim_ = get_int(c, "addition_time_embed_dim");
        add_in_dim_ = get_int(c, "projection_class_embeddings_input_dim");
        check_arg(add_time_dim_ >= 1, "UNet config: addition_time_embed_dim must be >= 1");
        check_arg(add_in_dim_ > add_time_dim_, "UNet config: projection_class_embeddings_input_dim must exceed addition_time_embed_dim");
        add_embedding_ = TimestepEmbedding(*this, "add_embedding", add_in_dim_, time_embed_dim, Activation::SiLU, Activation::None);
    } else {
        check_arg(added.empty(), "UNet config: addition_embed_type '" + added + "' is not supported (only text_time)");
    }

    BlockOptions base;
    base.temb_channels = time_embed_dim;
    base.groups = groups;
    base.eps = eps;
    base.act = act_;
    base.output_scale_factor = 1.0;
    base.attn.use_linear_projection = linear_proj;
    base.attn.upcast_attention = upcast;

    const json &downs = field(c, "down_blocks", "config");
    const json &ups = field(c, "up_blocks", "config");
    check_arg(downs.is_array() && downs.size() == channels.size(),
              "UNet config: down_blocks needs one entry per block_out_channels entry");
    check_arg(ups.is_array() && ups.size() == channels.size(),
              "UNet config: up_blocks needs one entry per block_out_channels entry");
    const size_t n = channels.size();

    int64_t out_ch = channels[0];
    for (size_t i = 0; i < n; i++) {
        const std::string where = "down_blocks[" + std::to_string(i) + "]";
        int64_t in_ch = out_ch;
        out_ch = channels[i];
        BlockOptions o = block_options(downs[i], where, base, false);
        if (!o.transformer_layers.empty() && cross_dim_ < 0) cross_dim_ = o.attn.cross_attention_dim;
        down_.emplace_back(*this, "down_blocks." + std::to_string(i), in_ch, out_ch, o, i + 1 < n, downsample_padding);
    }

    const json &mid = field(c, "mid_block", "config");
    if (!mid.is_null()) {
        BlockOptions o = block_options(mid, "mid_block", base, true);
        o.output_scale_factor = get_double(c, "mid_block_scale_factor");
        if (cross_dim_ < 0) cross_dim_ = o.attn.cross_attention_dim;
        mid_.emplace(*this, "mid_block", channels.back(), o);
    }

    std::vector<int64_t> rev(channels.rbegin(), channels.rend());
    out_ch = rev[0];
    for (size_t i = 0; i < n; i++) {
        const std::string where = "up_blocks[" + std::to_string(i) + "]";
        int64_t prev = out_ch;
        out_ch = rev[i];
        int64_t in_ch = rev[std::min(i + 1, n - 1)];
        BlockOptions o = block_options(ups[i], where, base, false);
        if (!o.transformer_layers.empty() && cross_dim_ < 0) cross_dim_ = o.attn.cross_attention_dim;
        up_.emplace_back(*this, "up_blocks." + std::to_string(i), in_ch, prev, out_ch, o, i + 1 < n);
    }

    has_norm_out_ = get_bool(c, "conv_norm_out");
    if (has_norm_out_) conv_norm_out_ = GroupNorm(*this, "conv_norm_out", groups, channels[0], eps);
    conv_out_ = Conv2d(*this, "conv_out", channels[0], out_channels_, k_out, 1, (k_out - 1) / 2);
}

at::Tensor UNet::added_embedding(const at::Tensor &text_embeds, const at::Tensor &time_ids, int64_t batch,
                                 at::ScalarType dt) const {
    if (!text_embeds.defined() || !time_ids.defined())
        throw std::invalid_argument(
            "this UNet has addition_embed_type text_time (SDXL): it needs text_embeds and time_ids besides "
            "encoder_hidden_states");
    if (text_embeds.dim() != 2 || text_embeds.size(0) != batch)
        throw std::invalid_argument("text_embeds must be [batch=" + std::to_string(batch) + ", dim], got " +
                                    c10::str(text_embeds.sizes()));
    if (time_ids.dim() != 2 || time_ids.size(0) != batch)
        throw std::invalid_argument("time_ids must be [batch=" + std::to_string(batch) + ", ids], got " +
                                    c10::str(time_ids.sizes()));
    if (text_embeds.size(1) + time_ids.size(1) * add_time_dim_ != add_in_dim_)
        throw std::invalid_argument("text_embeds width " + std::to_string(text_embeds.size(1)) + " + " +
                                    std::to_string(time_ids.size(1)) + " time ids x addition_time_embed_dim " +
                                    std::to_string(add_time_dim_) + " must equal projection_class_embeddings_input_dim " +
                                    std::to_string(add_in_dim_));
    if (!at::isFloatingType(text_embeds.scalar_type())) throw std::invalid_argument("text_embeds must be floating point");
    const at::Device dev = device();
    // As diffusers: the sinusoid of every id (float32), reshaped to one row per sample, concatenated after the
    // text embeds (promoted to float32 by the concatenation), then the MLP in the model's dtype.
    at::Tensor ids = time_ids.to(dev).flatten();
    at::Tensor time_embeds = timestep_embedding(ids, add_time_dim_, flip_sin_to_cos_, freq_shift_).reshape({batch, -1});
    at::Tensor add = at::cat({text_embeds.to(dev, at::kFloat), time_embeds}, -1).to(dt);
    return add_embedding_(add);
}

at::Tensor UNet::forward(const at::Tensor &sample_in, const at::Tensor &timesteps_in, const at::Tensor &context_in,
                         const at::Tensor &text_embeds, const at::Tensor &time_ids) const {
    // Messages are built only on failure (no string work on the hot path).
    if (sample_in.dim() != 4)
        throw std::invalid_argument("sample must be [batch, channels, height, width], got " + c10::str(sample_in.sizes()));
    if (sample_in.size(1) != in_channels_)
        throw std::invalid_argument("sample has " + std::to_string(sample_in.size(1)) + " channels but the UNet takes " +
                                    std::to_string(in_channels_));
    if (!at::isFloatingType(sample_in.scalar_type())) throw std::invalid_argument("sample must be a floating-point tensor");
    const int64_t B = sample_in.size(0);
    if (context_in.dim() != 3 || context_in.size(0) != B)
        throw std::invalid_argument("encoder_hidden_states must be [batch=" + std::to_string(B) + ", tokens, dim], got " +
                                    c10::str(context_in.sizes()));
    if (cross_dim_ >= 0 && context_in.size(2) != cross_dim_)
        throw std::invalid_argument("encoder_hidden_states has width " + std::to_string(context_in.size(2)) +
                                    " but the UNet's cross_attention_dim is " + std::to_string(cross_dim_));
    if (!(timesteps_in.dim() == 0 ||
          (timesteps_in.dim() == 1 && (timesteps_in.size(0) == B || timesteps_in.size(0) == 1))))
        throw std::invalid_argument("timesteps must be 0-dim, [1] or [batch=" + std::to_string(B) + "], got " +
                                    c10::str(timesteps_in.sizes()));
    if (timesteps_in.scalar_type() == at::kBool) throw std::invalid_argument("timesteps must be integer or floating point");

    const at::Device dev = device();
    const at::ScalarType dt = dtype();
    at::Tensor sample = sample_in.to(dev, dt);
    at::Tensor context = context_in.to(dev, dt);

    // Time embedding: float32 sinusoid of the expanded timesteps, then the MLP in the model's dtype.
    at::Tensor t = timesteps_in.dim() == 0 ? timesteps_in.reshape({1}) : timesteps_in;
    t = t.to(dev).expand({B});
    at::Tensor emb = time_embedding_(timestep_embedding(t, time_proj_dim_, flip_sin_to_cos_, freq_shift_).to(dt));
    if (text_time_) emb = emb + added_embedding(text_embeds, time_ids, B, dt);
    else if (text_embeds.defined() || time_ids.defined())
        throw std::invalid_argument("text_embeds / time_ids given, but this UNet has no added conditioning (addition_embed_type null)");
    if (time_embed_act_ != Activation::None) emb = activate(time_embed_act_, emb);
    const at::Tensor temb_act = activate(act_, emb);
    const BlockContext ctx{temb_act, context, gradient_checkpointing};

    // Sizes not divisible by the total up-scaling: every upsampler targets the matching skip's size.
    const int64_t factor = int64_t{1} << (up_.size() > 0 ? up_.size() - 1 : 0);
    const bool forward_upsample_size = sample.size(2) % factor != 0 || sample.size(3) % factor != 0;

    if (center_input_sample_) sample = sample.mul(2.0).sub(1.0);
    at::Tensor h = conv(conv_in_, sample);
    std::vector<at::Tensor> skips;
    skips.reserve(32);
    skips.push_back(h);
    for (const auto &block : down_) h = block(h, ctx, skips);
    if (mid_) h = (*mid_)(h, ctx);
    for (size_t i = 0; i < up_.size(); i++) {
        const bool final_block = i + 1 == up_.size();
        std::vector<int64_t> size;
        const size_t used = up_[i].resnets.size();
        if (!final_block && forward_upsample_size && skips.size() > used) {
            const at::Tensor &next = skips[skips.size() - used - 1];
            size = {next.size(2), next.size(3)};
        }
        h = up_[i](h, ctx, skips, size);
    }
    if (has_norm_out_) h = activate_(act_, conv_norm_out_(h));
    return conv(conv_out_, h);
}

}  // namespace clif

using clif::check_arg;
using clif::not_null;

extern "C" {

int32_t clif_unet_new(const char *config_json, int64_t config_len, clif_module *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        not_null(config_json, "config_json");
        check_arg(config_len >= 0, "negative config length");
        auto unet = std::make_unique<clif::UNet>(std::string(config_json, static_cast<size_t>(config_len)));
        *out = clif::wrap_module(std::move(unet), "unet");
    });
}

int32_t clif_unet_forward(clif_module unet, clif_tensor sample, clif_tensor timesteps,
                          clif_tensor encoder_hidden_states, int32_t grad, clif_tensor *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        auto &u = clif::unwrap_module<clif::UNet>(unet, "unet");
        clif::GradMode mode(grad != 0);
        *out = clif::wrap(u.forward(clif::unwrap(sample, "sample"), clif::unwrap(timesteps, "timesteps"),
                                    clif::unwrap(encoder_hidden_states, "encoder_hidden_states")));
    });
}

int32_t clif_unet_forward_added(clif_module unet, clif_tensor sample, clif_tensor timesteps,
                                clif_tensor encoder_hidden_states, clif_tensor text_embeds, clif_tensor time_ids,
                                int32_t grad, clif_tensor *out) {
    return clif::guard(__func__, [&] {
        not_null(out, "out");
        auto &u = clif::unwrap_module<clif::UNet>(unet, "unet");
        clif::GradMode mode(grad != 0);
        at::Tensor te = text_embeds == nullptr ? at::Tensor() : clif::unwrap(text_embeds, "text_embeds");
        at::Tensor ti = time_ids == nullptr ? at::Tensor() : clif::unwrap(time_ids, "time_ids");
        *out = clif::wrap(u.forward(clif::unwrap(sample, "sample"), clif::unwrap(timesteps, "timesteps"),
                                    clif::unwrap(encoder_hidden_states, "encoder_hidden_states"), te, ti));
    });
}

int32_t clif_unet_set_gradient_checkpointing(clif_module unet, int32_t enabled) {
    return clif::guard(__func__, [&] { clif::unwrap_module<clif::UNet>(unet, "unet").gradient_checkpointing = enabled != 0; });
}

}
