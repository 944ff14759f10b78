#pragma once
// AutoencoderKL hyperparameters from vae/config.json (diffusers' defaults where a key is absent).
#include <cstdint>
#include <filesystem>
#include <vector>

#include "engine/io/json_file.h"

namespace ezivk::models {

struct VaeConfig {
  int64_t in_channels = 3, out_channels = 3, latent_channels = 4;
  std::vector<int64_t> block_out_channels;  // encoder order (the decoder walks it reversed)
  int64_t layers_per_block = 1;             // encoder; the decoder's up blocks have one more
  int64_t norm_num_groups = 32;
  double scaling_factor = 0.18215;
  double shift_factor = 0;
  bool mid_block_add_attention = true;
  bool use_quant_conv = true, use_post_quant_conv = true;
  int64_t sample_size = 512;

  // Image pixels per latent pixel: 2^(levels - 1).
  int64_t downsampling() const { return int64_t(1) << (block_out_channels.size() - 1); }

  static VaeConfig from_json(const io::JsonFile& f);
  static VaeConfig from_file(const std::filesystem::path& path) { return from_json(io::JsonFile(path)); }
};

}  // namespace ezivk::models
