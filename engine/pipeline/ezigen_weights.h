#pragma once
// EZIGen's trained weights: the adapters of every transformer block and their learnable weights, from the authors'
// released checkpoint (an accelerate folder holding model.safetensors or pytorch_model.bin with the whole main
// UNet), either file directly, or an adapters-only safetensors file (`ezivk adapter extract`).
// As in the reference, generation runs the checkpoint's UNet weights where the checkpoint has them and subject
// encoding the model folder's; tensors the two hold identically are kept once on the device.
#include <filesystem>
#include <memory>
#include <string>

#include "engine/models/ezigen_adapter.h"
#include "engine/models/unet2d_condition.h"
#include "engine/models/weights.h"
#include "engine/pipeline/stable_diffusion.h"

namespace ezivk::pipeline {

struct EzigenWeights {
  std::filesystem::path file;
  std::unique_ptr<models::WeightSource> source;
  std::unique_ptr<models::WeightStore> adapter_store;
  std::unique_ptr<models::EzigenAdapter> adapter;
  // The generating UNet when the checkpoint's main UNet differs from the folder's (null: the folder's serves both).
  std::unique_ptr<models::WeightStore> unet_store;
  std::unique_ptr<models::UNet2DConditionModel> unet;
  int64_t unet_tensors = 0;          // main-UNet tensors the checkpoint holds (0: adapters only)
  int64_t unet_tensors_changed = 0;  // of those, how many differ from the folder's

  const models::UNet2DConditionModel& generating_unet(const StableDiffusion& sd) const {
    return unet ? *unet : *sd.unet.model;
  }
  uint64_t device_bytes() const {
    return (adapter_store ? adapter_store->device_bytes() : 0) + (unet_store ? unet_store->device_bytes() : 0);
  }
};

// The weights file a --adapter path names: a folder's model.safetensors (preferred) or pytorch_model.bin, or the
// file itself. A .zip is refused ("unzip it first"); Error naming the path otherwise.
std::filesystem::path resolve_adapter_file(const std::filesystem::path& path);

// The weights file as a source, by content rather than name: a torch.save checkpoint is a ZIP ("PK"), anything else
// is read as safetensors. `format` (optional) receives "torch pickle" or "safetensors".
std::unique_ptr<models::WeightSource> open_weight_file(const std::filesystem::path& file, std::string* format = nullptr);

// Loads the adapters for sd's UNet (Error naming the tensor that is missing or misshapen).
EzigenWeights load_ezigen_weights(StableDiffusion& sd, const std::filesystem::path& path);
// Deterministic random adapters (benchmarks; learnable weights 1).
EzigenWeights random_ezigen_weights(StableDiffusion& sd, uint64_t seed = 11);

}  // namespace ezivk::pipeline
