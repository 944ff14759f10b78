#include "engine/models/sd21_base.h"

#include "engine/util/error.h"

namespace ezivk::models {

namespace {

constexpr const char* kUnet = R"({"_class_name": "UNet2DConditionModel", "act_fn": "silu",
 "attention_head_dim": [5, 10, 20, 20], "block_out_channels": [320, 640, 1280, 1280], "center_input_sample": false,
 "cross_attention_dim": 1024, "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
 "CrossAttnDownBlock2D", "DownBlock2D"], "downsample_padding": 1, "dual_cross_attention": false,
 "flip_sin_to_cos": true, "freq_shift": 0, "in_channels": 4, "layers_per_block": 2, "mid_block_scale_factor": 1,
 "norm_eps": 1e-05, "norm_num_groups": 32, "num_class_embeds": null, "only_cross_attention": false,
 "out_channels": 4, "sample_size": 64, "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D",
 "CrossAttnUpBlock2D"], "upcast_attention": false, "use_linear_projection": true})";

constexpr const char* kVae = R"({"_class_name": "AutoencoderKL", "act_fn": "silu",
 "block_out_channels": [128, 256, 512, 512], "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D",
 "DownEncoderBlock2D", "DownEncoderBlock2D"], "in_channels": 3, "latent_channels": 4, "layers_per_block": 2,
 "norm_num_groups": 32, "out_channels": 3, "sample_size": 768, "scaling_factor": 0.18215,
 "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"]})";

constexpr const char* kText = R"({"architectures": ["CLIPTextModel"], "hidden_act": "gelu", "hidden_size": 1024,
 "intermediate_size": 4096, "layer_norm_eps": 1e-05, "max_position_embeddings": 77, "model_type": "clip_text_model",
 "num_attention_heads": 16, "num_hidden_layers": 23, "projection_dim": 512, "vocab_size": 49408})";

constexpr const char* kScheduler = R"({"_class_name": "PNDMScheduler", "beta_end": 0.012,
 "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": false, "num_train_timesteps": 1000,
 "prediction_type": "epsilon", "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1,
 "trained_betas": null})";

}  // namespace

io::JsonFile sd21_base_config(const std::string& component) {
  const char* text = component == "unet"           ? kUnet
                     : component == "vae"          ? kVae
                     : component == "text_encoder" ? kText
                     : component == "scheduler"    ? kScheduler
                                                   : nullptr;
  if (!text) fail("sd21_base_config: no component '" + component + "' (expected unet, vae, text_encoder or scheduler)");
  return io::JsonFile("<built-in SD2.1-base " + component + " config>", nlohmann::json::parse(text));
}

}  // namespace ezivk::models
