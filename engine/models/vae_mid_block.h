#pragma once
// The VAE's UNetMidBlock2D (resnets.0, attentions.0, resnets.1; no time embedding) and the single-head spatial
// self-attention inside it, shared by the encoder and the decoder.
#include <cstdint>
#include <optional>
#include <string>

#include "engine/models/layers.h"
#include "engine/models/resnet_block2d.h"

namespace ezivk::models {

// diffusers Attention as UNetMidBlock2D builds it for the VAE: one head as wide as the channels (scale 1/√C),
// GroupNorm over the NCHW input, q/k/v/out Linears with bias over the H·W tokens, back to NCHW, + input.
struct VaeAttention {
  int64_t channels = 0, groups = 32;
  NormW group_norm;
  LinearW qkv;  // to_q/to_k/to_v (or query/key/value) fused: [3C, C] + bias
  LinearW out;  // to_out.0 (or proj_attn)

  // Accepts both checkpoint naming schemes, chosen by which one the source holds.
  static VaeAttention load(WeightStore& ws, const std::string& prefix, int64_t channels, int64_t groups);
  // x [B, C, H, W] -> [B, C, H, W].
  Act forward(Graph& g, const Tensor& x) const;
};

// UNetMidBlock2D without time embedding: resnets.0, attentions.0 (when mid_block_add_attention), resnets.1.
struct VaeMidBlock {
  ResnetBlock2D resnet0, resnet1;
  std::optional<VaeAttention> attention;

  static VaeMidBlock load(WeightStore& ws, const std::string& prefix, int64_t channels, int64_t groups,
                          bool add_attention);
  Act forward(Graph& g, const Tensor& x) const;  // [B, C, H, W] -> same
};

}  // namespace ezivk::models
