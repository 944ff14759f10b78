#include "engine/models/unet2d_condition.h"

#include "engine/util/error.h"

namespace ezivk::models {

UNet2DConditionModel::UNet2DConditionModel(const UNetConfig& c, WeightStore& ws) : cfg_(c) {
  const int64_t c0 = c.block_out_channels[0], temb = c.time_embed_dim(), G = c.norm_num_groups;
  const double eps = c.norm_eps;
  const size_t n = c.levels();
  time_linear_1 = load_linear(ws, "time_embedding.linear_1", c0, temb);
  time_linear_2 = load_linear(ws, "time_embedding.linear_2", temb, temb);
  conv_in = load_conv(ws, "conv_in", c.in_channels, c0, c.conv_in_kernel);

  // The skip stack's channel counts, mirrored at load time so up resnets know their input width.
  std::vector<int64_t> skips{c0};
  int64_t ch = c0;
  for (size_t i = 0; i < n; ++i) {
    const std::string p = "down_blocks." + std::to_string(i);
    const int64_t out = c.block_out_channels[i];
    DownBlock b;
    for (int64_t j = 0; j < c.layers_per_block[i]; ++j) {
      const std::string r = p + ".resnets." + std::to_string(j);
      b.resnets.push_back(ResnetBlock2D::load(ws, r, ch, out, temb, G, eps));
      ch = out;
      if (c.down_has_attention[i])
        b.attentions.push_back(Transformer2D::load(ws, p + ".attentions." + std::to_string(j), out, c.heads[i],
                                                   c.cross_attention_dim, G, c.transformer_layers[i]));
      skips.push_back(out);
    }
    if (i + 1 < n) {
      b.downsampler = load_conv(ws, p + ".downsamplers.0.conv", out, out, 3);
      skips.push_back(out);
    }
    down_blocks.push_back(std::move(b));
  }

  const int64_t cm = c.block_out_channels.back();
  mid_resnet0 = ResnetBlock2D::load(ws, "mid_block.resnets.0", cm, cm, temb, G, eps);
  mid_attention = Transformer2D::load(ws, "mid_block.attentions.0", cm, c.heads.back(), c.cross_attention_dim, G,
                                      c.transformer_layers.back());
  mid_resnet1 = ResnetBlock2D::load(ws, "mid_block.resnets.1", cm, cm, temb, G, eps);

  for (size_t i = 0; i < n; ++i) {
    const size_t level = n - 1 - i;  // up block i works at the resolution of down level n-1-i
    const std::string p = "up_blocks." + std::to_string(i);
    const int64_t out = c.block_out_channels[level];
    UpBlock b;
    for (int64_t j = 0; j <= c.layers_per_block[level]; ++j) {
      const int64_t skip = skips.back();
      skips.pop_back();
      b.resnets.push_back(ResnetBlock2D::load(ws, p + ".resnets." + std::to_string(j), ch + skip, out, temb, G, eps));
      ch = out;
      if (c.up_has_attention[i])
        b.attentions.push_back(Transformer2D::load(ws, p + ".attentions." + std::to_string(j), out, c.heads[level],
                                                   c.cross_attention_dim, G, c.transformer_layers[level]));
    }
    if (i + 1 < n) b.upsampler = load_conv(ws, p + ".upsamplers.0.conv", out, out, 3);
    up_blocks.push_back(std::move(b));
  }
  conv_norm_out = load_norm(ws, "conv_norm_out", c0);
  conv_out = load_conv(ws, "conv_out", c0, c.out_channels, c.conv_out_kernel);
}

std::vector<const BasicTransformerBlock*> UNet2DConditionModel::transformer_blocks() const {
  std::vector<const BasicTransformerBlock*> out;
  auto add = [&](const std::vector<Transformer2D>& ts) {
    for (auto& t : ts)
      for (auto& b : t.blocks) out.push_back(&b);
  };
  for (auto& d : down_blocks) add(d.attentions);
  for (auto& b : mid_attention.blocks) out.push_back(&b);
  for (auto& u : up_blocks) add(u.attentions);
  return out;
}

std::vector<std::string> UNet2DConditionModel::transformer_block_names() const {
  std::vector<std::string> names;
  for (auto* b : transformer_blocks()) names.push_back(b->name);
  return names;
}

Act UNet2DConditionModel::forward(Graph& g, const Tensor& sample, const Tensor& timesteps, const Tensor& context,
                                  const BlockHooks* hooks) const {
  const auto& c = cfg_;
  if (sample.rank() != 4 || sample.dim(1) != c.in_channels)
    fail("unet: sample must be [B, " + std::to_string(c.in_channels) + ", H, W], got " + ops::shape_string(sample.shape));
  const int64_t B = sample.dim(0);
  if (context.rank() != 3 || context.dim(0) != B || context.dim(2) != c.cross_attention_dim)
    fail("unet: context must be [" + std::to_string(B) + ", tokens, " + std::to_string(c.cross_attention_dim) +
         "], got " + ops::shape_string(context.shape));
  if (timesteps.rank() != 1 || timesteps.dim(0) != B || timesteps.dtype != DType::F32)
    fail("unet: timesteps must be f32 [" + std::to_string(B) + "], got " + ops::shape_string(timesteps.shape));

  // Time embedding; every resnet applies SiLU(emb) before its own projection, so it is computed once.
  Act temb_silu;
  {
    Act proj = g.alloc({B, c.block_out_channels[0]});
    g.timestep_embedding(timesteps, proj, c.flip_sin_to_cos, float(c.freq_shift));
    Act e1 = linear(g, time_linear_1, proj);  // [B, 4·C0]
    Act e1s = g.alloc(e1.shape());
    g.activation(ops::Activation::SiLU, e1, e1s);
    Act emb = linear(g, time_linear_2, e1s);  // [B, 4·C0]
    g.dump("unet.time_emb", emb);
    temb_silu = g.alloc(emb.shape());
    g.activation(ops::Activation::SiLU, emb, temb_silu);
  }
  const Tensor& temb = temb_silu;

  std::vector<Act> skips;  // the newest is the current hidden state on the down path
  skips.push_back(conv(g, conv_in, sample));  // [B, C0, H, W]
  g.dump("unet.conv_in", skips.back());

  for (size_t i = 0; i < down_blocks.size(); ++i) {
    const DownBlock& b = down_blocks[i];
    for (size_t j = 0; j < b.resnets.size(); ++j) {
      Act h = b.resnets[j].forward(g, skips.back(), &temb);
      if (!b.attentions.empty()) h = b.attentions[j].forward(g, h, context, hooks);
      skips.push_back(std::move(h));
    }
    if (b.downsampler) skips.push_back(conv(g, *b.downsampler, skips.back(), 2));  // [B, C, H/2, W/2]
    g.dump("unet.down_blocks." + std::to_string(i), skips.back());
  }

  Act h = mid_resnet0.forward(g, skips.back(), &temb);
  h = mid_attention.forward(g, h, context, hooks);
  h = mid_resnet1.forward(g, h, &temb);
  g.dump("unet.mid_block", h);

  for (size_t i = 0; i < up_blocks.size(); ++i) {
    const UpBlock& b = up_blocks[i];
    for (size_t j = 0; j < b.resnets.size(); ++j) {
      Act skip = std::move(skips.back());
      skips.pop_back();
      Act cat = g.alloc({B, h.dim(1) + skip.dim(1), h.dim(2), h.dim(3)});
      g.concat_channels(h, skip, cat);  // [hidden, skip]
      skip.reset();
      h.reset();
      h = b.resnets[j].forward(g, cat, &temb);
      cat.reset();
      if (!b.attentions.empty()) h = b.attentions[j].forward(g, h, context, hooks);
    }
    if (b.upsampler) {
      // The next skip's size: 2x unless a stride-2 conv rounded an odd size up on the way down.
      const int64_t oh = skips.back().dim(2), ow = skips.back().dim(3);
      Act up = g.alloc({B, h.dim(1), oh, ow});
      if (oh == 2 * h.dim(2) && ow == 2 * h.dim(3)) g.upsample_nearest2x(h, up);
      else g.upsample_nearest(h, up);
      h.reset();
      h = conv(g, *b.upsampler, up);
    }
    g.dump("unet.up_blocks." + std::to_string(i), h);
  }

  Act n = group_norm(g, conv_norm_out, h, c.norm_num_groups, c.norm_eps, true);
  h.reset();
  Act out = conv(g, conv_out, n);  // [B, out, H, W]
  g.dump("unet.out", out);
  return out;
}

}  // namespace ezivk::models
