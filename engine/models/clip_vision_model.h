#pragma once
// transformers' CLIPVisionModelWithProjection (the image tower of CLIP, e.g. OpenAI's ViT-B/32), module tree as
// in the checkpoint:
//   vision_model.embeddings.patch_embedding [C, 3, P, P] (no bias), .class_embedding [C],
//                          .position_embedding [patches + 1, C]
//   vision_model.pre_layrnorm (sic) -> encoder.layers.N (as the text encoder's, attention not causal)
//   vision_model.post_layernorm on the class token -> visual_projection [projection, C] (no bias) = image_embeds
// The patch embedding is a convolution with stride P, i.e. a product of the weight with each patch: the host lays
// the normalised image out as patches (patchify) and one GEMM embeds them all.
#include <cstdint>
#include <vector>

#include "engine/models/clip_text_model.h"
#include "engine/models/clip_vision_config.h"
#include "engine/models/layers.h"

namespace ezivk::models {

class ClipVisionModel {
 public:
  ClipVisionModel(const ClipVisionConfig& config, WeightStore& ws);
  const ClipVisionConfig& config() const { return config_; }

  // patches [B, grid², P·P·3] (patchify) -> image_embeds [B, projection_dim], not normalised.
  Act forward(Graph& g, const Tensor& patches) const;

  // A normalised image [3, S, S] (S = image_size) as patches [grid², P·P·3], each in (row, column, channel)
  // order to match the patch weight as the store lays it out (OHWI).
  static std::vector<float> patchify(const std::vector<float>& chw, int64_t size, int64_t patch);

 private:
  ClipVisionConfig config_;
  Tensor patch_weight_;  // [C, P, P, 3], used as [C, P·P·3]
  Tensor class_embedding_, position_embedding_;
  NormW pre_layrnorm_, post_layernorm_;
  std::vector<ClipEncoderLayer> layers_;
  LinearW projection_;
};

}  // namespace ezivk::models
