#pragma once
// CLIPTextModel hyperparameters from text_encoder/config.json (transformers' CLIPTextConfig defaults where a
// key is absent).
#include <cstdint>
#include <filesystem>

#include "engine/io/json_file.h"
#include "engine/ops/activation.h"

namespace ezivk::models {

struct ClipTextConfig {
  int64_t vocab_size = 49408, hidden_size = 512, intermediate_size = 2048;
  int64_t num_hidden_layers = 12, num_attention_heads = 8, max_position_embeddings = 77;
  ops::Activation hidden_act = ops::Activation::QuickGELU;
  double layer_norm_eps = 1e-5;

  int64_t head_dim() const { return hidden_size / num_attention_heads; }

  static ClipTextConfig from_json(const io::JsonFile& f);
  static ClipTextConfig from_file(const std::filesystem::path& path) { return from_json(io::JsonFile(path)); }
};

}  // namespace ezivk::models
