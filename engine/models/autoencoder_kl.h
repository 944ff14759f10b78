#pragma once
// diffusers AutoencoderKL (SD 1.x/2.x VAE), module tree as in the checkpoint:
//   encoder: conv_in -> down_blocks.i (DownEncoderBlock2D: resnets.j, downsamplers.0.conv on all but the last)
//            -> mid_block (resnets.0, attentions.0, resnets.1) -> conv_norm_out + SiLU -> conv_out [2·latent]
//   quant_conv (1×1, 2·latent), post_quant_conv (1×1, latent)
//   decoder: conv_in -> mid_block -> up_blocks.i (UpDecoderBlock2D: layers_per_block + 1 resnets, channels walk
//            reversed(block_out_channels), upsamplers.0.conv after a nearest ×2 on all but the last)
//            -> conv_norm_out + SiLU -> conv_out
// Every GroupNorm has eps 1e-6 and norm_num_groups groups; there is no time embedding.
// Scaling by scaling_factor (and its inverse before decode) is the pipeline's job: encode returns the raw
// moments, decode takes the unscaled latent.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/models/layers.h"
#include "engine/models/resnet_block2d.h"
#include "engine/models/vae_config.h"
#include "engine/models/vae_mid_block.h"

namespace ezivk::models {

struct VaeEncoder {
  ConvW conv_in;
  struct DownBlock {
    std::vector<ResnetBlock2D> resnets;
    std::optional<ConvW> downsample;  // 3×3 stride 2 after padding right and bottom by 1
  };
  std::vector<DownBlock> down_blocks;
  VaeMidBlock mid_block;
  NormW conv_norm_out;
  ConvW conv_out;
  int64_t groups = 32;

  static VaeEncoder load(WeightStore& ws, const VaeConfig& c);
  // image [B, in_channels, H, W] -> [B, 2·latent, H/f, W/f] (before quant_conv).
  Act forward(Graph& g, const Tensor& image) const;
};

struct VaeDecoder {
  ConvW conv_in;
  VaeMidBlock mid_block;
  struct UpBlock {
    std::vector<ResnetBlock2D> resnets;
    std::optional<ConvW> upsample;  // 3×3 after a nearest ×2
  };
  std::vector<UpBlock> up_blocks;
  NormW conv_norm_out;
  ConvW conv_out;
  int64_t groups = 32;

  static VaeDecoder load(WeightStore& ws, const VaeConfig& c);
  // z [B, latent, h, w] (after post_quant_conv) -> [B, out_channels, h·f, w·f].
  Act forward(Graph& g, const Tensor& z) const;
};

class AutoencoderKL {
 public:
  enum class Part { Both, EncoderOnly, DecoderOnly };

  AutoencoderKL(const VaeConfig& config, WeightStore& ws, Part which = Part::Both);

  const VaeConfig& config() const { return config_; }
  bool has_encoder() const { return encoder_.has_value(); }
  bool has_decoder() const { return decoder_.has_value(); }

  // image [B, in_channels, H, W] in [-1, 1], H and W multiples of config().downsampling() ->
  // moments [B, 2·latent, H/f, W/f]: channels [0, latent) the mean, [latent, 2·latent) the logvar, quant_conv
  // applied, logvar not yet clamped (split_moments does that).
  Act encode_moments(Graph& g, const Tensor& image) const;
  // z [B, latent, h, w], already divided by scaling_factor -> decoder output [B, out_channels, h·f, w·f],
  // unclamped (the image is clamp(x / 2 + 0.5, 0, 1)).
  Act decode(Graph& g, const Tensor& z) const;

 private:
  VaeConfig config_;
  std::optional<VaeEncoder> encoder_;
  std::optional<ConvW> quant_conv_, post_quant_conv_;
  std::optional<VaeDecoder> decoder_;
};

// DiagonalGaussianDistribution's parameters on the host, from downloaded moments [B, 2·latent, h, w]:
// mean and logvar, each [B, latent, h, w], logvar clamped to [-30, 20] as diffusers does. (No clamp op exists on
// the device; the moments are small and the sampling with torch-compatible noise happens on the host anyway.)
struct VaeMoments {
  std::vector<float> mean, logvar;
};
VaeMoments split_moments(std::span<const float> moments, int64_t batch, int64_t latent_channels, int64_t hw);

}  // namespace ezivk::models
