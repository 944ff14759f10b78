#pragma once
// CLIP image embeddings for EZIGen's `--similarity clip` (the reference's auto-stop measure): a transformers
// CLIPVisionModelWithProjection folder (config.json, model.safetensors, optional preprocessor_config.json) and
// CLIP's preprocessing: the shortest edge resized to `size` with PIL's bicubic filter (the long edge truncated as
// transformers computes it), the centre cropped to crop_size ((h − crop) / 2 rounded down), /255, then
// (x − image_mean) / image_std per channel.
#include <filesystem>
#include <memory>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/io/image.h"
#include "engine/models/clip_vision_model.h"
#include "engine/models/graph_runner.h"
#include "engine/models/weights.h"

namespace ezivk::pipeline {

class ClipImageEmbedder {
 public:
  ClipImageEmbedder(gpu::Context& ctx, const std::filesystem::path& folder, ops::DType dtype);

  // The preprocessed image [3, S, S] as the model sees it.
  std::vector<float> preprocess(const io::Image8& rgb) const;
  // The unit-length image embedding [projection_dim].
  std::vector<float> embed(const io::Image8& rgb);
  static double cosine(const std::vector<float>& a, const std::vector<float>& b);
  const models::ClipVisionConfig& config() const { return config_; }
  uint64_t device_bytes() const { return store_->device_bytes(); }

 private:
  gpu::Context& ctx_;
  ops::DType dtype_;
  models::ClipVisionConfig config_;
  int64_t resize_to_ = 224, crop_ = 224;
  float mean_[3] = {0.48145466f, 0.4578275f, 0.40821073f}, std_[3] = {0.26862954f, 0.26130258f, 0.27577711f};
  std::unique_ptr<models::WeightSource> source_;
  std::unique_ptr<models::WeightStore> store_;
  std::unique_ptr<models::ClipVisionModel> model_;
  models::GraphRunner runner_;
};

}  // namespace ezivk::pipeline
