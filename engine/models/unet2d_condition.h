#pragma once
// diffusers UNet2DConditionModel (SD 1.x / 2.x): time embedding, conv_in, down blocks (resnets + optional
// Transformer2D, downsampler), mid block (resnet, transformer, resnet), up blocks (resnets over [hidden, skip],
// optional transformers, upsampler), conv_norm_out + SiLU + conv_out. Module members mirror the checkpoint tree.
#include <optional>
#include <string>
#include <vector>

#include "engine/models/layers.h"
#include "engine/models/resnet_block2d.h"
#include "engine/models/transformer2d.h"
#include "engine/models/unet_config.h"

namespace ezivk::models {

class UNet2DConditionModel {
 public:
  UNet2DConditionModel(const UNetConfig& config, WeightStore& ws);

  // sample [B, in, H, W] (any size; where it does not divide by config.downsampling() each upsampler resizes to
  // its skip's size, as diffusers does), timesteps f32 [B], context [B, Nc, cross]
  // -> [B, out, H, W]. Dump points: unet.time_emb, unet.conv_in, unet.down_blocks.i, unet.mid_block,
  // unet.up_blocks.i, unet.out.
  Act forward(Graph& g, const Tensor& sample, const Tensor& timesteps, const Tensor& context,
              const BlockHooks* hooks = nullptr) const;

  const UNetConfig& config() const { return cfg_; }
  // Names of the transformer blocks in execution order (what hooks are called with).
  std::vector<std::string> transformer_block_names() const;
  // The blocks themselves, in the same order (widths and head counts for the modules hooks add).
  std::vector<const BasicTransformerBlock*> transformer_blocks() const;

 private:
  struct DownBlock {
    std::vector<ResnetBlock2D> resnets;
    std::vector<Transformer2D> attentions;  // empty for DownBlock2D
    std::optional<ConvW> downsampler;
  };
  struct UpBlock {
    std::vector<ResnetBlock2D> resnets;
    std::vector<Transformer2D> attentions;
    std::optional<ConvW> upsampler;
  };

  UNetConfig cfg_;
  LinearW time_linear_1, time_linear_2;
  ConvW conv_in;
  std::vector<DownBlock> down_blocks;
  ResnetBlock2D mid_resnet0, mid_resnet1;
  Transformer2D mid_attention;
  std::vector<UpBlock> up_blocks;
  NormW conv_norm_out;
  ConvW conv_out;
};

}  // namespace ezivk::models
