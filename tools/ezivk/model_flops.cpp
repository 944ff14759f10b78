#include "tools/ezivk/model_flops.h"

#include <vector>

namespace ezivk::cli {
namespace {

// Walks a model's layers in forward order, mirroring the module tree the model code loads.
struct Counter {
  FlopCount f;
  int64_t batch = 1;

  // Output spatial size oh×ow.
  void conv(int64_t cin, int64_t cout, int64_t k, int64_t oh, int64_t ow) {
    f.conv += 2 * batch * cout * oh * ow * cin * k * k;
  }
  // `rows` rows per batch item through an [in → out] linear layer.
  void linear(int64_t in, int64_t out, int64_t rows) { f.linear += 2 * batch * rows * in * out; }
  // QKᵀ [nq, nk] over every head's D (together: width C) and PV back to [nq, C].
  void attention(int64_t nq, int64_t nk, int64_t width) { f.attention += 2 * 2 * batch * nq * nk * width; }

  void resnet(int64_t cin, int64_t cout, int64_t temb, int64_t h, int64_t w) {
    conv(cin, cout, 3, h, w);
    if (temb > 0) linear(temb, cout, 1);
    conv(cout, cout, 3, h, w);
    if (cin != cout) conv(cin, cout, 1, h, w);
  }

  // Transformer2D: proj_in, `layers` BasicTransformerBlocks, proj_out.
  void transformer(int64_t c, int64_t layers, int64_t cross, int64_t ctx_tokens, int64_t h, int64_t w) {
    const int64_t n = h * w;
    linear(c, c, n);  // proj_in
    for (int64_t l = 0; l < layers; ++l) {
      linear(c, 3 * c, n);  // attn1 q, k, v
      attention(n, n, c);
      linear(c, c, n);  // attn1 out
      linear(c, c, n);  // attn2 q
      linear(cross, 2 * c, ctx_tokens);  // attn2 k, v over the text
      attention(n, ctx_tokens, c);
      linear(c, c, n);      // attn2 out
      linear(c, 8 * c, n);  // GEGLU projection
      linear(4 * c, c, n);  // ff out
    }
    linear(c, c, n);  // proj_out
  }

  // VAE mid block: resnet, single-head attention over h·w tokens, resnet.
  void vae_mid(int64_t c, bool attn, int64_t h, int64_t w) {
    resnet(c, c, 0, h, w);
    if (attn) {
      linear(c, 3 * c, h * w);
      attention(h * w, h * w, c);
      linear(c, c, h * w);
    }
    resnet(c, c, 0, h, w);
  }
};

}  // namespace

FlopCount unet_flops(const models::UNetConfig& c, int64_t batch, int64_t height, int64_t width,
                     int64_t context_tokens) {
  Counter k;
  k.batch = batch;
  const size_t n = c.levels();
  const int64_t c0 = c.block_out_channels.at(0), temb = c.time_embed_dim(), cross = c.cross_attention_dim;
  k.linear(c0, temb, 1);
  k.linear(temb, temb, 1);
  k.conv(c.in_channels, c0, c.conv_in_kernel, height, width);

  std::vector<int64_t> skips{c0};
  int64_t ch = c0, h = height, w = width;
  for (size_t i = 0; i < n; ++i) {
    const int64_t out = c.block_out_channels[i];
    for (int64_t j = 0; j < c.layers_per_block[i]; ++j) {
      k.resnet(ch, out, temb, h, w);
      ch = out;
      if (c.down_has_attention[i]) k.transformer(out, c.transformer_layers[i], cross, context_tokens, h, w);
      skips.push_back(out);
    }
    if (i + 1 < n) {
      h /= 2;
      w /= 2;
      k.conv(out, out, 3, h, w);  // stride 2
      skips.push_back(out);
    }
  }
  k.resnet(ch, ch, temb, h, w);
  k.transformer(ch, c.transformer_layers.back(), cross, context_tokens, h, w);
  k.resnet(ch, ch, temb, h, w);

  for (size_t i = 0; i < n; ++i) {
    const size_t level = n - 1 - i;
    const int64_t out = c.block_out_channels[level];
    for (int64_t j = 0; j <= c.layers_per_block[level]; ++j) {
      const int64_t skip = skips.back();
      skips.pop_back();
      k.resnet(ch + skip, out, temb, h, w);
      ch = out;
      if (c.up_has_attention[i]) k.transformer(out, c.transformer_layers[level], cross, context_tokens, h, w);
    }
    if (i + 1 < n) {
      h *= 2;
      w *= 2;
      k.conv(out, out, 3, h, w);  // after the nearest ×2
    }
  }
  k.conv(c0, c.out_channels, c.conv_out_kernel, height, width);
  return k.f;
}

FlopCount vae_decode_flops(const models::VaeConfig& c, int64_t batch, int64_t height, int64_t width) {
  Counter k;
  k.batch = batch;
  const std::vector<int64_t> ch(c.block_out_channels.rbegin(), c.block_out_channels.rend());
  int64_t h = height, w = width;
  if (c.use_post_quant_conv) k.conv(c.latent_channels, c.latent_channels, 1, h, w);
  k.conv(c.latent_channels, ch.at(0), 3, h, w);
  k.vae_mid(ch[0], c.mid_block_add_attention, h, w);
  int64_t cin = ch[0];
  for (size_t i = 0; i < ch.size(); ++i) {
    for (int64_t j = 0; j <= c.layers_per_block; ++j) {
      k.resnet(cin, ch[i], 0, h, w);
      cin = ch[i];
    }
    if (i + 1 < ch.size()) {
      h *= 2;
      w *= 2;
      k.conv(ch[i], ch[i], 3, h, w);
    }
  }
  k.conv(cin, c.out_channels, 3, h, w);
  return k.f;
}

FlopCount vae_encode_flops(const models::VaeConfig& c, int64_t batch, int64_t height, int64_t width) {
  Counter k;
  k.batch = batch;
  const auto& ch = c.block_out_channels;
  int64_t h = height, w = width;
  k.conv(c.in_channels, ch.at(0), 3, h, w);
  int64_t cin = ch[0];
  for (size_t i = 0; i < ch.size(); ++i) {
    for (int64_t j = 0; j < c.layers_per_block; ++j) {
      k.resnet(cin, ch[i], 0, h, w);
      cin = ch[i];
    }
    if (i + 1 < ch.size()) {
      h /= 2;
      w /= 2;
      k.conv(ch[i], ch[i], 3, h, w);  // pad right/bottom by 1, stride 2
    }
  }
  k.vae_mid(cin, c.mid_block_add_attention, h, w);
  k.conv(cin, 2 * c.latent_channels, 3, h, w);
  if (c.use_quant_conv) k.conv(2 * c.latent_channels, 2 * c.latent_channels, 1, h, w);
  return k.f;
}

FlopCount text_encoder_flops(const models::ClipTextConfig& c, int64_t batch, int64_t seq) {
  Counter k;
  k.batch = batch;
  const int64_t d = c.hidden_size;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    k.linear(d, 3 * d, seq);
    k.attention(seq, seq, d);
    k.linear(d, d, seq);
    k.linear(d, c.intermediate_size, seq);
    k.linear(c.intermediate_size, d, seq);
  }
  return k.f;
}

}  // namespace ezivk::cli
