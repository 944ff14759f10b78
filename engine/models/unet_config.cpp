#include "engine/models/unet_config.h"

#include <string>

#include "engine/models/config_limits.h"

namespace ezivk::models {

namespace {

// Keys whose only supported value is diffusers' default for SD 1.x/2.x: anything else changes the network.
void expect_default_null(const io::JsonFile& f, const char* key) {
  if (f.has(key)) f.bad_value(key, "null (SD 1.x/2.x UNets have none)");
}

}  // namespace

UNetConfig UNetConfig::from_json(const io::JsonFile& f) {
  UNetConfig c;
  c.in_channels = f.integer_in("in_channels", 4, 1, limits::kChannels);
  c.out_channels = f.integer_in("out_channels", 4, 1, limits::kChannels);
  c.block_out_channels = f.has("block_out_channels") ? f.int_list("block_out_channels")
                                                     : std::vector<int64_t>{320, 640, 1280, 1280};
  const size_t n = c.block_out_channels.size();
  if (n < 1 || int64_t(n) > limits::kLevels) f.bad_value("block_out_channels", "a list of 1 to 8 channel counts");
  for (auto ch : c.block_out_channels)
    if (ch < 1 || ch > limits::kChannels) f.bad_value("block_out_channels", "channel counts from 1 to 16384");

  auto down = f.has("down_block_types")
                  ? f.string_list("down_block_types")
                  : std::vector<std::string>{"CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                                             "DownBlock2D"};
  auto up = f.has("up_block_types")
                ? f.string_list("up_block_types")
                : std::vector<std::string>{"UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D",
                                           "CrossAttnUpBlock2D"};
  if (down.size() != n) f.bad_value("down_block_types", "one block type per entry of block_out_channels");
  if (up.size() != n) f.bad_value("up_block_types", "one block type per entry of block_out_channels");
  for (auto& t : down) {
    if (t == "CrossAttnDownBlock2D") c.down_has_attention.push_back(true);
    else if (t == "DownBlock2D") c.down_has_attention.push_back(false);
    else f.bad_value("down_block_types", "CrossAttnDownBlock2D or DownBlock2D");
  }
  for (auto& t : up) {
    if (t == "CrossAttnUpBlock2D") c.up_has_attention.push_back(true);
    else if (t == "UpBlock2D") c.up_has_attention.push_back(false);
    else f.bad_value("up_block_types", "CrossAttnUpBlock2D or UpBlock2D");
  }
  const std::string mid = f.string("mid_block_type", "UNetMidBlock2DCrossAttn");
  if (mid != "UNetMidBlock2DCrossAttn") f.bad_value("mid_block_type", "UNetMidBlock2DCrossAttn");

  c.layers_per_block = f.int_or_list("layers_per_block", n, 2);
  for (auto l : c.layers_per_block)
    if (l < 1 || l > limits::kLayers) f.bad_value("layers_per_block", "1 to 64");
  // diffusers: num_attention_heads = num_attention_heads or attention_head_dim (the SD configs' historical
  // misnomer: SD2's [5, 10, 20, 20] are head counts, each head 64 wide).
  c.heads = f.has("num_attention_heads") ? f.int_or_list("num_attention_heads", n)
                                         : f.int_or_list("attention_head_dim", n, 8);
  for (size_t i = 0; i < n; ++i) {
    if (c.heads[i] < 1 || c.heads[i] > limits::kChannels || c.block_out_channels[i] % c.heads[i])
      f.bad_value(f.has("num_attention_heads") ? "num_attention_heads" : "attention_head_dim",
                  "head counts that divide block_out_channels");
  }
  c.transformer_layers = f.int_or_list("transformer_layers_per_block", n, 1);
  for (auto l : c.transformer_layers)
    if (l < 1 || l > limits::kLayers) f.bad_value("transformer_layers_per_block", "1 to 64");
  if (f.has("cross_attention_dim") && f.json().at("cross_attention_dim").is_array())
    f.bad_value("cross_attention_dim", "a single number");
  c.cross_attention_dim = f.integer_in("cross_attention_dim", 1280, 1, limits::kChannels);
  c.use_linear_projection = f.boolean("use_linear_projection", false);
  c.norm_num_groups = f.integer_in("norm_num_groups", 32, 1, limits::kChannels);
  for (auto ch : c.block_out_channels)
    if (c.norm_num_groups < 1 || ch % c.norm_num_groups) f.bad_value("norm_num_groups", "a divisor of every block_out_channels entry");
  c.norm_eps = f.number_in("norm_eps", 1e-5, 1e-12, 0.1);
  c.flip_sin_to_cos = f.boolean("flip_sin_to_cos", true);
  // The sinusoid's frequencies divide by (half width - freq_shift): keep that at least 1.
  c.freq_shift = f.number_in("freq_shift", 0, -8, 8);
  if (double(c.block_out_channels[0] / 2) - c.freq_shift < 1)
    f.bad_value("freq_shift", "less than half of block_out_channels[0] minus 1");
  // Latent pixels: the largest image side over the smallest VAE factor (1).
  c.sample_size = f.integer_in("sample_size", 64, 1, limits::kImageSide);
  c.conv_in_kernel = f.integer_in("conv_in_kernel", 3, 1, limits::kKernel);
  c.conv_out_kernel = f.integer_in("conv_out_kernel", 3, 1, limits::kKernel);
  if (c.conv_in_kernel < 1 || c.conv_in_kernel % 2 == 0) f.bad_value("conv_in_kernel", "an odd positive size");
  if (c.conv_out_kernel < 1 || c.conv_out_kernel % 2 == 0) f.bad_value("conv_out_kernel", "an odd positive size");
  if (c.time_embed_dim() % 2) f.bad_value("block_out_channels", "an even first entry");

  // Refuse what would silently change the computation.
  if (f.string("act_fn", "silu") != "silu") f.bad_value("act_fn", "silu");
  if (f.boolean("center_input_sample", false)) f.bad_value("center_input_sample", "false");
  if (f.integer("downsample_padding", 1) != 1) f.bad_value("downsample_padding", "1");
  if (f.number("mid_block_scale_factor", 1) != 1) f.bad_value("mid_block_scale_factor", "1");
  if (f.boolean("dual_cross_attention", false)) f.bad_value("dual_cross_attention", "false");
  if (f.has("only_cross_attention")) {
    const auto& v = f.json().at("only_cross_attention");
    if (!(v.is_boolean() && !v.get<bool>())) f.bad_value("only_cross_attention", "false");
  }
  if (f.string("resnet_time_scale_shift", "default") != "default")
    f.bad_value("resnet_time_scale_shift", "default");
  if (f.string("time_embedding_type", "positional") != "positional")
    f.bad_value("time_embedding_type", "positional");
  if (f.string("attention_type", "default") != "default") f.bad_value("attention_type", "default");
  if (f.boolean("resnet_skip_time_act", false)) f.bad_value("resnet_skip_time_act", "false");
  if (f.number("resnet_out_scale_factor", 1.0) != 1.0) f.bad_value("resnet_out_scale_factor", "1.0");
  if (f.boolean("class_embeddings_concat", false)) f.bad_value("class_embeddings_concat", "false");
  for (const char* k : {"class_embed_type", "addition_embed_type", "num_class_embeds", "time_cond_proj_dim",
                        "time_embedding_dim", "encoder_hid_dim", "encoder_hid_dim_type", "timestep_post_act",
                        "time_embedding_act_fn", "cross_attention_norm"})
    expect_default_null(f, k);
  return c;
}

}  // namespace ezivk::models
