#pragma once
// diffusers ResnetBlock2D (UNet and VAE): h = conv1(SiLU(norm1(x))); h += time_emb_proj(SiLU(emb)) over H, W;
// h = conv2(SiLU(norm2(h))); out = shortcut(x) + h, with a 1×1 conv_shortcut only when Cin ≠ Cout.
#include <optional>
#include <string>

#include "engine/models/layers.h"

namespace ezivk::models {

struct ResnetBlock2D {
  int64_t cin = 0, cout = 0, groups = 32;
  double eps = 1e-5;
  NormW norm1, norm2;
  ConvW conv1, conv2;
  std::optional<LinearW> time_emb_proj;  // absent in the VAE
  std::optional<ConvW> conv_shortcut;

  // temb_channels 0: no time embedding.
  static ResnetBlock2D load(WeightStore& ws, const std::string& prefix, int64_t cin, int64_t cout,
                            int64_t temb_channels, int64_t groups, double eps);
  // x [B, cin, H, W], temb_silu [B, temb] (SiLU already applied; shared by every block) -> [B, cout, H, W].
  Act forward(Graph& g, const Tensor& x, const Tensor* temb_silu) const;
};

}  // namespace ezivk::models
