#pragma once
// UNet2DConditionModel hyperparameters, read from unet/config.json. Every value the engine uses comes from the
// file (with diffusers' defaults where a key is absent); values the engine cannot compute are refused with an
// Error naming the file and the key rather than silently ignored.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/io/json_file.h"

namespace ezivk::models {

struct UNetConfig {
  int64_t in_channels = 4, out_channels = 4;
  std::vector<int64_t> block_out_channels;       // one per level
  std::vector<bool> down_has_attention;          // CrossAttnDownBlock2D vs DownBlock2D, per level
  std::vector<bool> up_has_attention;            // CrossAttnUpBlock2D vs UpBlock2D, per up block (deepest first)
  std::vector<int64_t> layers_per_block;         // per level (down path); up blocks use one more
  std::vector<int64_t> heads;                    // per level: attention_head_dim (really the head count) or num_attention_heads
  std::vector<int64_t> transformer_layers;       // BasicTransformerBlocks per Transformer2D, per level
  int64_t cross_attention_dim = 1280;
  bool use_linear_projection = false;
  int64_t norm_num_groups = 32;
  double norm_eps = 1e-5;
  bool flip_sin_to_cos = true;
  double freq_shift = 0;
  int64_t sample_size = 64;
  int64_t conv_in_kernel = 3, conv_out_kernel = 3;

  size_t levels() const { return block_out_channels.size(); }
  int64_t time_embed_dim() const { return block_out_channels.at(0) * 4; }
  // Total downsampling factor: 2^(levels - 1).
  int64_t downsampling() const { return int64_t(1) << (levels() - 1); }

  static UNetConfig from_json(const io::JsonFile& f);
  static UNetConfig from_file(const std::filesystem::path& path) { return from_json(io::JsonFile(path)); }
};

}  // namespace ezivk::models
