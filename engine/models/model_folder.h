#pragma once
// A diffusers model folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/): where each
// component's config and weights are. Weights: "<name>.safetensors", the "<name>.fp16.safetensors" variant, or a
// sharded "<name>.safetensors.index.json"; PyTorch pickles (.bin, .ckpt) are refused, never executed.
#include <filesystem>
#include <string>
#include <vector>

namespace ezivk::models {

class ModelFolder {
 public:
  // Error naming the path when it is not a directory or lacks model_index.json and every component folder.
  // variant "" prefers full-precision files and falls back to the fp16 variant; "fp16" prefers the variant.
  explicit ModelFolder(std::filesystem::path root, std::string variant = "");

  const std::filesystem::path& root() const { return root_; }
  bool has(const std::string& component) const;  // the component's folder exists
  // <component>/config.json (scheduler: scheduler_config.json); Error naming the missing file.
  std::filesystem::path config(const std::string& component) const;
  // The weight files of unet ("diffusion_pytorch_model"), vae (same) or text_encoder ("model").
  std::vector<std::filesystem::path> weights(const std::string& component) const;
  std::filesystem::path tokenizer_dir() const;
  // model_index.json's _class_name, or "" when the folder has none.
  std::string pipeline_class() const;

 private:
  std::filesystem::path root_;
  std::string variant_;
};

}  // namespace ezivk::models
