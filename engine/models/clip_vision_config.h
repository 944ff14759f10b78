#pragma once
// CLIPVisionModelWithProjection hyperparameters from its config.json (transformers' CLIPVisionConfig defaults,
// which are ViT-B/32's, where a key is absent).
#include <cstdint>
#include <filesystem>

#include "engine/io/json_file.h"
#include "engine/ops/activation.h"

namespace ezivk::models {

struct ClipVisionConfig {
  int64_t hidden_size = 768, intermediate_size = 3072, num_hidden_layers = 12, num_attention_heads = 12;
  int64_t image_size = 224, patch_size = 32, num_channels = 3, projection_dim = 512;
  ops::Activation hidden_act = ops::Activation::QuickGELU;
  double layer_norm_eps = 1e-5;

  int64_t grid() const { return image_size / patch_size; }
  int64_t tokens() const { return grid() * grid() + 1; }  // patches + the class token

  static ClipVisionConfig from_json(const io::JsonFile& f);
  static ClipVisionConfig from_file(const std::filesystem::path& path) { return from_json(io::JsonFile(path)); }
};

}  // namespace ezivk::models
