#include "engine/models/vae_config.h"

#include <string>

#include "engine/models/config_limits.h"

namespace ezivk::models {

VaeConfig VaeConfig::from_json(const io::JsonFile& f) {
  VaeConfig c;
  c.in_channels = f.integer_in("in_channels", 3, 1, limits::kChannels);
  c.out_channels = f.integer_in("out_channels", 3, 1, limits::kChannels);
  c.latent_channels = f.integer_in("latent_channels", 4, 1, limits::kChannels);
  c.block_out_channels = f.has("block_out_channels") ? f.int_list("block_out_channels") : std::vector<int64_t>{64};
  const size_t n = c.block_out_channels.size();
  if (n < 1 || int64_t(n) > limits::kLevels) f.bad_value("block_out_channels", "a list of 1 to 8 channel counts");
  for (auto ch : c.block_out_channels)
    if (ch < 1 || ch > limits::kChannels) f.bad_value("block_out_channels", "channel counts from 1 to 16384");
  c.layers_per_block = f.integer_in("layers_per_block", 1, 1, limits::kLayers);
  c.norm_num_groups = f.integer_in("norm_num_groups", 32, 1, limits::kChannels);
  for (auto ch : c.block_out_channels)
    if (ch < 1 || c.norm_num_groups < 1 || ch % c.norm_num_groups)
      f.bad_value("norm_num_groups", "a divisor of every block_out_channels entry");
  if (c.in_channels < 1 || c.out_channels < 1 || c.latent_channels < 1)
    f.bad_value("latent_channels", "positive in/out/latent channel counts");
  // Older folders omit scaling_factor; diffusers then uses 0.18215.
  // Latents are multiplied by it and images by its inverse: far from 1 either way overflows fp16 at once.
  c.scaling_factor = f.number_in("scaling_factor", 0.18215, 1e-4, 1e4);
  c.shift_factor = f.number_in("shift_factor", 0.0, -1e4, 1e4);
  c.mid_block_add_attention = f.boolean("mid_block_add_attention", true);
  c.use_quant_conv = f.boolean("use_quant_conv", true);
  c.use_post_quant_conv = f.boolean("use_post_quant_conv", true);
  c.sample_size = f.integer_in("sample_size", 512, 1, limits::kImageSide);

  if (f.string("act_fn", "silu") != "silu") f.bad_value("act_fn", "silu");
  if (f.has("down_block_types")) {
    const auto down = f.string_list("down_block_types");
    if (down.size() != n) f.bad_value("down_block_types", "one block type per entry of block_out_channels");
    for (auto& t : down)
      if (t != "DownEncoderBlock2D") f.bad_value("down_block_types", "DownEncoderBlock2D");
  }
  if (f.has("up_block_types")) {
    const auto up = f.string_list("up_block_types");
    if (up.size() != n) f.bad_value("up_block_types", "one block type per entry of block_out_channels");
    for (auto& t : up)
      if (t != "UpDecoderBlock2D") f.bad_value("up_block_types", "UpDecoderBlock2D");
  }
  if (f.has("latents_mean") || f.has("latents_std")) f.bad_value("latents_mean", "absent (SD 1.x/2.x VAEs have none)");
  return c;
}

}  // namespace ezivk::models
