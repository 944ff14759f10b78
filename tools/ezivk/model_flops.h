#pragma once
// Arithmetic cost of a model forward, counted from the config and the input shapes alone (no engine code runs):
// 2 × the multiply-accumulates of every convolution, linear layer and attention matmul (QKᵀ and PV, the full
// square even where attention is causal, as the kernels compute it). Norms, activations, additions and
// softmax are left out: they are a fraction of a percent and memory-bound. `ezivk bench` divides these counts by
// the measured time; tests/cli/model_flops_test.cpp checks them against counts taken from the PyTorch reference.
#include <cstdint>

#include "engine/models/clip_text_config.h"
#include "engine/models/unet_config.h"
#include "engine/models/vae_config.h"

namespace ezivk::cli {

struct FlopCount {
  int64_t conv = 0;       // convolutions (3×3 and 1×1, including up/downsamplers)
  int64_t linear = 0;     // linear layers: projections, feed-forward, time embedding
  int64_t attention = 0;  // QKᵀ and PV of self- and cross-attention
  int64_t total() const { return conv + linear + attention; }
};

// One UNet forward: latent [batch, in_channels, height, width], text context of context_tokens tokens.
FlopCount unet_flops(const models::UNetConfig& c, int64_t batch, int64_t height, int64_t width,
                     int64_t context_tokens);
// VAE decode (post_quant_conv and decoder) of a latent [batch, latent_channels, height, width].
FlopCount vae_decode_flops(const models::VaeConfig& c, int64_t batch, int64_t height, int64_t width);
// VAE encode (encoder and quant_conv) of an image [batch, in_channels, height, width].
FlopCount vae_encode_flops(const models::VaeConfig& c, int64_t batch, int64_t height, int64_t width);
// The CLIP text encoder on [batch, seq] token ids.
FlopCount text_encoder_flops(const models::ClipTextConfig& c, int64_t batch, int64_t seq);

}  // namespace ezivk::cli
