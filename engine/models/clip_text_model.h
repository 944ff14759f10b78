#pragma once
// transformers' CLIPTextModel (the SD text encoder), module tree as in the checkpoint under "text_model.":
//   embeddings.token_embedding [vocab, C], embeddings.position_embedding [max_positions, C]
//   encoder.layers.N: layer_norm1 -> self_attn (q/k/v/out_proj with bias, causal, scale 1/√head_dim) -> + x;
//                     layer_norm2 -> mlp.fc1 -> hidden_act -> mlp.fc2 -> + x
//   final_layer_norm
// No padding mask (SD conditions on all 77 positions). embeddings.position_ids is a buffer, not a weight: ignored.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/models/clip_text_config.h"
#include "engine/models/layers.h"

namespace ezivk::models {

// One CLIP transformer layer; the text encoder's attention is causal, the image tower's is not.
struct ClipEncoderLayer {
  int64_t dim = 0, heads = 1;
  double eps = 1e-5;
  bool causal = true;
  ops::Activation act = ops::Activation::GELU;
  NormW layer_norm1, layer_norm2;
  LinearW qkv;       // self_attn.q_proj/k_proj/v_proj fused: [3C, C] + bias
  LinearW out_proj;  // [C, C] + bias
  LinearW fc1, fc2;  // [I, C], [C, I]

  static ClipEncoderLayer load(WeightStore& ws, const std::string& prefix, const ClipTextConfig& c);
  static ClipEncoderLayer load(WeightStore& ws, const std::string& prefix, int64_t dim, int64_t intermediate,
                               int64_t heads, double eps, ops::Activation act, bool causal);
  // hidden [B, S, C], updated in place.
  void forward(Graph& g, const Tensor& hidden) const;
};

class ClipTextModel {
 public:
  ClipTextModel(const ClipTextConfig& config, WeightStore& ws);

  const ClipTextConfig& config() const { return config_; }

  // ids: batch·seq uint32 token ids on the device (batch-major; an id ≥ vocab_size reads the last row, so check
  // them on the host) -> last_hidden_state [batch, seq, hidden] (after final_layer_norm), seq ≤
  // max_position_embeddings.
  Act forward(Graph& g, const gpu::Slice& ids, int64_t batch, int64_t seq) const;

 private:
  ClipTextConfig config_;
  Tensor token_embedding_;     // [vocab, C]
  Tensor position_embedding_;  // [max_positions, C]
  std::vector<ClipEncoderLayer> layers_;
  NormW final_layer_norm_;
};

}  // namespace ezivk::models
