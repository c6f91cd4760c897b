// Down, mid and up stages of the UNet.
#include "unet_blocks.h"

namespace clif {

namespace {
bool use_checkpoint(const BlockContext &c) { return c.checkpointing && at::GradMode::is_enabled(); }

TransformerOptions with_layers(TransformerOptions o, int64_t layers, int64_t groups) {
    o.layers = layers;
    o.norm_groups = groups;
    return o;
}
}  // namespace

at::Tensor run_resnet(const ResnetBlock2D &r, const at::Tensor &x, const BlockContext &c) {
    if (!use_checkpoint(c)) return r(x, c.temb_act);
    const ResnetBlock2D *block = &r;  // lives as long as the module
    return checkpoint([block](const std::vector<at::Tensor> &in) { return (*block)(in[0], in[1]); },
                      {x, c.temb_act});
}

at::Tensor run_transformer(const Transformer2DModel &t, const at::Tensor &x, const BlockContext &c) {
    if (!use_checkpoint(c)) return t(x, c.context);
    const Transformer2DModel *block = &t;
    return checkpoint([block](const std::vector<at::Tensor> &in) { return (*block)(in[0], in[1]); },
                      {x, c.context});
}

DownBlock::DownBlock(Module &m, const std::string &prefix, int64_t in, int64_t out, const BlockOptions &o,
                     bool add_downsample, int64_t downsample_padding)
    : has_downsample(add_downsample) {
    const bool attn = !o.transformer_layers.empty();
    check_arg(!attn || static_cast<int64_t>(o.transformer_layers.size()) == o.layers,
              prefix + ": transformer_layers needs one entry per resnet");
    resnets.reserve(static_cast<size_t>(o.layers));
    attentions.reserve(attn ? static_cast<size_t>(o.layers) : 0);
    for (int64_t i = 0; i < o.layers; i++) {
        const std::string idx = std::to_string(i);
        resnets.emplace_back(m, join(prefix, "resnets." + idx), i == 0 ? in : out, out, o.temb_channels, o.groups, o.eps,
                             o.act, o.output_scale_factor);
        if (attn)
            attentions.emplace_back(m, join(prefix, "attentions." + idx), out,
                                    with_layers(o.attn, o.transformer_layers[static_cast<size_t>(i)], o.groups));
    }
    if (add_downsample) downsample = Downsample2D(m, join(prefix, "downsamplers.0"), out, downsample_padding);
}

at::Tensor DownBlock::operator()(at::Tensor h, const BlockContext &c, std::vector<at::Tensor> &skips) const {
    for (size_t i = 0; i < resnets.size(); i++) {
        h = run_resnet(resnets[i], h, c);
        if (!attentions.empty()) h = run_transformer(attentions[i], h, c);
        skips.push_back(h);
    }
    if (has_downsample) {
        h = downsample(h);
        skips.push_back(h);
    }
    return h;
}

MidBlock::MidBlock(Module &m, const std::string &prefix, int64_t channels, const BlockOptions &o) {
    const int64_t layers = static_cast<int64_t>(o.transformer_layers.size());
    resnets.reserve(static_cast<size_t>(layers + 1));
    attentions.reserve(static_cast<size_t>(layers));
    resnets.emplace_back(m, join(prefix, "resnets.0"), channels, channels, o.temb_channels, o.groups, o.eps, o.act,
                         o.output_scale_factor);
    for (int64_t i = 0; i < layers; i++) {
        attentions.emplace_back(m, join(prefix, "attentions." + std::to_string(i)), channels,
                                with_layers(o.attn, o.transformer_layers[static_cast<size_t>(i)], o.groups));
        resnets.emplace_back(m, join(prefix, "resnets." + std::to_string(i + 1)), channels, channels, o.temb_channels,
                             o.groups, o.eps, o.act, o.output_scale_factor);
    }
}

at::Tensor MidBlock::operator()(at::Tensor h, const BlockContext &c) const {
    h = run_resnet(resnets[0], h, c);
    for (size_t i = 0; i < attentions.size(); i++) {
        h = run_transformer(attentions[i], h, c);
        h = run_resnet(resnets[i + 1], h, c);
    }
    return h;
}

UpBlock::UpBlock(Module &m, const std::string &prefix, int64_t in, int64_t prev_out, int64_t out, const BlockOptions &o,
                 bool add_upsample)
    : has_upsample(add_upsample) {
    const bool attn = !o.transformer_layers.empty();
    check_arg(!attn || static_cast<int64_t>(o.transformer_layers.size()) == o.layers,
              prefix + ": transformer_layers needs one entry per resnet");
    resnets.reserve(static_cast<size_t>(o.layers));
    attentions.reserve(attn ? static_cast<size_t>(o.layers) : 0);
    for (int64_t i = 0; i < o.layers; i++) {
        const std::string idx = std::to_string(i);
        const int64_t skip = i == o.layers - 1 ? in : out;
        const int64_t res_in = i == 0 ? prev_out : out;
        resnets.emplace_back(m, join(prefix, "resnets." + idx), res_in + skip, out, o.temb_channels, o.groups, o.eps,
                             o.act, o.output_scale_factor);
        if (attn)
            attentions.emplace_back(m, join(prefix, "attentions." + idx), out,
                                    with_layers(o.attn, o.transformer_layers[static_cast<size_t>(i)], o.groups));
    }
    if (add_upsample) upsample = Upsample2D(m, join(prefix, "upsamplers.0"), out);
}

at::Tensor UpBlock::operator()(at::Tensor h, const BlockContext &c, std::vector<at::Tensor> &skips,
                               at::IntArrayRef upsample_size) const {
    for (size_t i = 0; i < resnets.size(); i++) {
        if (skips.empty()) throw std::logic_error("UNet: ran out of skip connections (inconsistent block configuration)");
        at::Tensor skip = std::move(skips.back());
        skips.pop_back();
        h = at::cat({h, skip}, 1);
        h = run_resnet(resnets[i], h, c);
        if (!attentions.empty()) h = run_transformer(attentions[i], h, c);
    }
    if (has_upsample) {
        if (upsample_size.empty())
            h = upsample(h, {h.size(2) * 2, h.size(3) * 2});
        else
            h = upsample(h, upsample_size);
    }
    return h;
}

}  // namespace clif
