#include "engine/models/autoencoder_kl.h"

#include <algorithm>

#include "engine/util/error.h"

namespace ezivk::models {

namespace {

constexpr double kEps = 1e-6;

std::string idx(const std::string& prefix, size_t i) { return prefix + "." + std::to_string(i); }

}  // namespace

// --- encoder --------------------------------------------------------------------------------------------------

VaeEncoder VaeEncoder::load(WeightStore& ws, const VaeConfig& c) {
  const auto& ch = c.block_out_channels;
  const int64_t groups = c.norm_num_groups;
  VaeEncoder e;
  e.groups = groups;
  e.conv_in = load_conv(ws, "encoder.conv_in", c.in_channels, ch[0], 3);
  int64_t cin = ch[0];
  for (size_t i = 0; i < ch.size(); ++i) {
    const std::string p = idx("encoder.down_blocks", i);
    DownBlock b;
    for (int64_t j = 0; j < c.layers_per_block; ++j) {
      b.resnets.push_back(ResnetBlock2D::load(ws, idx(p + ".resnets", size_t(j)), cin, ch[i], 0, groups, kEps));
      cin = ch[i];
    }
    if (i + 1 < ch.size()) b.downsample = load_conv(ws, p + ".downsamplers.0.conv", ch[i], ch[i], 3);
    e.down_blocks.push_back(std::move(b));
  }
  e.mid_block = VaeMidBlock::load(ws, "encoder.mid_block", ch.back(), groups, c.mid_block_add_attention);
  e.conv_norm_out = load_norm(ws, "encoder.conv_norm_out", ch.back());
  e.conv_out = load_conv(ws, "encoder.conv_out", ch.back(), 2 * c.latent_channels, 3);  // double_z
  return e;
}

Act VaeEncoder::forward(Graph& g, const Tensor& image) const {
  Act h = conv(g, conv_in, image);  // [B, ch0, H, W]
  g.dump("vae.encoder.conv_in", h);
  for (size_t i = 0; i < down_blocks.size(); ++i) {
    const DownBlock& b = down_blocks[i];
    for (auto& r : b.resnets) h = r.forward(g, h, nullptr);  // [B, ch_i, H_i, W_i]
    // diffusers' Downsample2D with padding 0 pads (0, 1, 0, 1) before the stride-2 conv.
    if (b.downsample) h = conv(g, *b.downsample, h, 2, 0, 0, 1, 1);  // [B, ch_i, H_i/2, W_i/2]
    g.dump(idx("vae.encoder.down_blocks", i), h);
  }
  h = mid_block.forward(g, h);
  g.dump("vae.encoder.mid_block", h);
  {
    Act n = group_norm(g, conv_norm_out, h, groups, kEps, true);
    h = conv(g, conv_out, n);  // [B, 2·latent, H/f, W/f]
  }
  g.dump("vae.encoder.conv_out", h);
  return h;
}

// --- decoder --------------------------------------------------------------------------------------------------

VaeDecoder VaeDecoder::load(WeightStore& ws, const VaeConfig& c) {
  std::vector<int64_t> ch(c.block_out_channels.rbegin(), c.block_out_channels.rend());
  const int64_t groups = c.norm_num_groups;
  VaeDecoder d;
  d.groups = groups;
  d.conv_in = load_conv(ws, "decoder.conv_in", c.latent_channels, ch[0], 3);
  d.mid_block = VaeMidBlock::load(ws, "decoder.mid_block", ch[0], groups, c.mid_block_add_attention);
  int64_t cin = ch[0];
  for (size_t i = 0; i < ch.size(); ++i) {
    const std::string p = idx("decoder.up_blocks", i);
    UpBlock b;
    for (int64_t j = 0; j <= c.layers_per_block; ++j) {
      b.resnets.push_back(ResnetBlock2D::load(ws, idx(p + ".resnets", size_t(j)), cin, ch[i], 0, groups, kEps));
      cin = ch[i];
    }
    if (i + 1 < ch.size()) b.upsample = load_conv(ws, p + ".upsamplers.0.conv", ch[i], ch[i], 3);
    d.up_blocks.push_back(std::move(b));
  }
  d.conv_norm_out = load_norm(ws, "decoder.conv_norm_out", ch.back());
  d.conv_out = load_conv(ws, "decoder.conv_out", ch.back(), c.out_channels, 3);
  return d;
}

Act VaeDecoder::forward(Graph& g, const Tensor& z) const {
  Act h = conv(g, conv_in, z);  // [B, ch_last, h, w]
  g.dump("vae.decoder.conv_in", h);
  h = mid_block.forward(g, h);
  g.dump("vae.decoder.mid_block", h);
  for (size_t i = 0; i < up_blocks.size(); ++i) {
    const UpBlock& b = up_blocks[i];
    for (auto& r : b.resnets) h = r.forward(g, h, nullptr);  // [B, ch_i, h_i, w_i]
    if (b.upsample) {
      Act up = g.alloc({h.dim(0), h.dim(1), 2 * h.dim(2), 2 * h.dim(3)});
      g.upsample_nearest2x(h, up);
      h.reset();
      h = conv(g, *b.upsample, up);  // [B, ch_i, 2h_i, 2w_i]
    }
    g.dump(idx("vae.decoder.up_blocks", i), h);
  }
  {
    Act n = group_norm(g, conv_norm_out, h, groups, kEps, true);
    h = conv(g, conv_out, n);  // [B, out_channels, h·f, w·f]
  }
  g.dump("vae.decoder.conv_out", h);
  return h;
}

// --- AutoencoderKL --------------------------------------------------------------------------------------------

AutoencoderKL::AutoencoderKL(const VaeConfig& config, WeightStore& ws, Part which) : config_(config) {
  if (config_.block_out_channels.empty()) fail("AutoencoderKL: the config has no block_out_channels");
  const int64_t lat = config_.latent_channels;
  if (which != Part::DecoderOnly) {
    encoder_ = VaeEncoder::load(ws, config_);
    if (config_.use_quant_conv) quant_conv_ = load_conv(ws, "quant_conv", 2 * lat, 2 * lat, 1);
  }
  if (which != Part::EncoderOnly) {
    if (config_.use_post_quant_conv) post_quant_conv_ = load_conv(ws, "post_quant_conv", lat, lat, 1);
    decoder_ = VaeDecoder::load(ws, config_);
  }
}

Act AutoencoderKL::encode_moments(Graph& g, const Tensor& image) const {
  if (!encoder_) fail("AutoencoderKL: encode needs the encoder, but this model was loaded decoder-only");
  const int64_t f = config_.downsampling();
  if (image.rank() != 4 || image.dim(1) != config_.in_channels)
    fail("AutoencoderKL: the image to encode must be [B, " + std::to_string(config_.in_channels) + ", H, W], got " +
         ops::shape_string(image.shape));
  if (image.dim(2) % f || image.dim(3) % f || image.dim(2) < f || image.dim(3) < f)
    fail("AutoencoderKL: the image to encode is " + std::to_string(image.dim(2)) + "×" +
         std::to_string(image.dim(3)) + " (H×W), but both sides must be positive multiples of " + std::to_string(f));
  if (image.dtype != g.dtype())
    fail(std::string("AutoencoderKL: the image to encode is ") + ops::dtype_name(image.dtype) +
         ", but the graph computes in " + ops::dtype_name(g.dtype()));
  Act h = encoder_->forward(g, image);  // [B, 2·latent, H/f, W/f]
  if (quant_conv_) {
    h = conv(g, *quant_conv_, h);
    g.dump("vae.quant_conv", h);
  }
  return h;
}

Act AutoencoderKL::decode(Graph& g, const Tensor& z) const {
  if (!decoder_) fail("AutoencoderKL: decode needs the decoder, but this model was loaded encoder-only");
  if (z.rank() != 4 || z.dim(1) != config_.latent_channels || z.dim(2) < 1 || z.dim(3) < 1)
    fail("AutoencoderKL: the latent to decode must be [B, " + std::to_string(config_.latent_channels) +
         ", h, w], got " + ops::shape_string(z.shape));
  if (z.dtype != g.dtype())
    fail(std::string("AutoencoderKL: the latent to decode is ") + ops::dtype_name(z.dtype) +
         ", but the graph computes in " + ops::dtype_name(g.dtype()));
  if (!post_quant_conv_) return decoder_->forward(g, z);
  Act h = conv(g, *post_quant_conv_, z);  // [B, latent, h, w]
  g.dump("vae.post_quant_conv", h);
  return decoder_->forward(g, h);
}

VaeMoments split_moments(std::span<const float> moments, int64_t batch, int64_t latent, int64_t hw) {
  if (batch < 1 || latent < 1 || hw < 1 || int64_t(moments.size()) != batch * 2 * latent * hw)
    fail("split_moments: " + std::to_string(moments.size()) + " values are not [" + std::to_string(batch) + ", " +
         std::to_string(2 * latent) + ", " + std::to_string(hw) + "]");
  VaeMoments m;
  const size_t n = size_t(latent * hw);
  m.mean.reserve(size_t(batch) * n);
  m.logvar.reserve(size_t(batch) * n);
  for (int64_t b = 0; b < batch; ++b) {
    const auto item = moments.subspan(size_t(b) * 2 * n, 2 * n);
    m.mean.insert(m.mean.end(), item.begin(), item.begin() + ptrdiff_t(n));
    for (size_t i = n; i < 2 * n; ++i) m.logvar.push_back(std::clamp(item[i], -30.f, 20.f));
  }
  return m;
}

}  // namespace ezivk::models
