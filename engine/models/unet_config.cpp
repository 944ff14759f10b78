#include "engine/models/unet_config.h"

#include <string>

namespace ezivk::models {

namespace {

// Keys whose only supported value is diffusers' default for SD 1.x/2.x: anything else changes the network.
void expect_default_null(const io::JsonFile& f, const char* key) {
  if (f.has(key)) f.bad_value(key, "null (SD 1.x/2.x UNets have none)");
}

}  // namespace

UNetConfig UNetConfig::from_json(const io::JsonFile& f) {
  UNetConfig c;
  c.in_channels = f.integer("in_channels", 4);
  c.out_channels = f.integer("out_channels", 4);
  c.block_out_channels = f.has("block_out_channels") ? f.int_list("block_out_channels")
                                                     : std::vector<int64_t>{320, 640, 1280, 1280};
  const size_t n = c.block_out_channels.size();
  if (n < 1 || n > 8) f.bad_value("block_out_channels", "a list of 1 to 8 channel counts");
  for (auto ch : c.block_out_channels)
    if (ch < 1) f.bad_value("block_out_channels", "positive channel counts");

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
    if (l < 1) f.bad_value("layers_per_block", "at least 1");
  // diffusers: num_attention_heads = num_attention_heads or attention_head_dim (the SD configs' historical
  // misnomer: SD2's [5, 10, 20, 20] are head counts, each head 64 wide).
  c.heads = f.has("num_attention_heads") ? f.int_or_list("num_attention_heads", n)
                                         : f.int_or_list("attention_head_dim", n, 8);
  for (size_t i = 0; i < n; ++i) {
    if (c.heads[i] < 1 || c.block_out_channels[i] % c.heads[i])
      f.bad_value(f.has("num_attention_heads") ? "num_attention_heads" : "attention_head_dim",
                  "head counts that divide block_out_channels");
  }
  c.transformer_layers = f.int_or_list("transformer_layers_per_block", n, 1);
  for (auto l : c.transformer_layers)
    if (l < 1) f.bad_value("transformer_layers_per_block", "at least 1");
  if (f.has("cross_attention_dim") && f.json().at("cross_attention_dim").is_array())
    f.bad_value("cross_attention_dim", "a single number");
  c.cross_attention_dim = f.integer("cross_attention_dim", 1280);
  c.use_linear_projection = f.boolean("use_linear_projection", false);
  c.norm_num_groups = f.integer("norm_num_groups", 32);
  for (auto ch : c.block_out_channels)
    if (c.norm_num_groups < 1 || ch % c.norm_num_groups) f.bad_value("norm_num_groups", "a divisor of every block_out_channels entry");
  c.norm_eps = f.number("norm_eps", 1e-5);
  if (!(c.norm_eps > 0)) f.bad_value("norm_eps", "a positive number");
  c.flip_sin_to_cos = f.boolean("flip_sin_to_cos", true);
  c.freq_shift = f.number("freq_shift", 0);
  c.sample_size = f.integer("sample_size", 64);
  c.conv_in_kernel = f.integer("conv_in_kernel", 3);
  c.conv_out_kernel = f.integer("conv_out_kernel", 3);
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
