#include "engine/pipeline/ezigen_weights.h"

#include <fstream>
#include <set>
#include <vector>

#include "engine/models/torch_checkpoint_source.h"
#include "engine/util/error.h"

namespace ezivk::pipeline {

namespace fs = std::filesystem;

fs::path resolve_adapter_file(const fs::path& path) {
  auto refuse_zip = [](const fs::path& p) {
    if (p.extension() == ".zip")
      fail(p.string() + ": a .zip archive; unzip it first and pass the folder (or its model.safetensors)");
  };
  refuse_zip(path);
  if (fs::is_directory(path)) {
    for (const char* name : {"model.safetensors", "pytorch_model.bin"})
      if (fs::is_regular_file(path / name)) return path / name;
    fail(path.string() + ": no model.safetensors or pytorch_model.bin in this folder (an EZIGen checkpoint folder "
         "holds one of them)");
  }
  if (!fs::is_regular_file(path)) fail(path.string() + ": no such file or folder");
  return path;
}

std::unique_ptr<models::WeightSource> open_weight_file(const fs::path& file, std::string* format) {
  char sig[2] = {};
  std::ifstream(file, std::ios::binary).read(sig, 2);
  const bool zip = sig[0] == 'P' && sig[1] == 'K';
  if (format) *format = zip ? "torch pickle" : "safetensors";
  if (zip) return std::make_unique<models::TorchCheckpointSource>(file);
  return std::make_unique<models::SafetensorsSource>(std::vector<fs::path>{file});
}

namespace {

bool same_values(models::WeightSource& a, models::WeightSource& b, const std::string& name,
                 const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  std::vector<float> va(static_cast<size_t>(n)), vb(static_cast<size_t>(n));
  a.read(name, va.data());
  b.read(name, vb.data());
  return va == vb;
}

}  // namespace

EzigenWeights load_ezigen_weights(StableDiffusion& sd, const fs::path& path) {
  EzigenWeights w;
  w.file = resolve_adapter_file(path);
  w.source = open_weight_file(w.file);
  models::WeightSource* st = w.source.get();
  // Adapters first: a checkpoint for another model fails before anything large is read.
  {
    models::WeightStore dry(nullptr, *w.source, sd.dtype, "adapter");
    models::EzigenAdapter check(*sd.unet.model, dry);
  }
  w.adapter_store = std::make_unique<models::WeightStore>(sd.ctx, *w.source, sd.dtype, "adapter");
  w.adapter = std::make_unique<models::EzigenAdapter>(*sd.unet.model, *w.adapter_store);

  // The main UNet in the checkpoint: all of the folder's tensors, or none.
  models::WeightSource* folder = sd.unet.source.get();
  if (folder->names().empty()) return w;  // random weights (benchmarks): nothing to compare
  std::vector<std::string> in_both;
  for (const auto& name : folder->names())
    if (st->contains(name)) in_both.push_back(name);
  w.unet_tensors = int64_t(in_both.size());
  if (in_both.empty()) return w;
  if (in_both.size() != folder->names().size())
    fail(w.file.string() + ": holds " + std::to_string(in_both.size()) + " of the model UNet's " +
         std::to_string(folder->names().size()) + " tensors; a checkpoint must hold the whole main UNet or none");
  std::set<std::string> same;
  for (const auto& name : in_both) {
    const auto shape = folder->shape(name);
    if (st->shape(name) != shape)
      fail(w.file.string() + ": tensor '" + name + "' has shape " + ops::shape_string(st->shape(name)) +
           ", the model folder's UNet has " + ops::shape_string(shape));
    if (same_values(*st, *folder, name, shape)) same.insert(name);
  }
  w.unet_tensors_changed = w.unet_tensors - int64_t(same.size());
  if (w.unet_tensors_changed == 0) return w;  // identical: the folder's UNet generates too
  uint64_t hint = 0;
  {
    models::WeightStore dry(nullptr, *w.source, sd.dtype, "plan");
    dry.share_from(*sd.unet.weights, same);
    models::UNet2DConditionModel m(sd.unet.config, dry);
    hint = dry.device_bytes();
  }
  w.unet_store = std::make_unique<models::WeightStore>(sd.ctx, *w.source, sd.dtype, "unet (checkpoint)");
  w.unet_store->share_from(*sd.unet.weights, same);
  w.unet_store->set_capacity_hint(hint);
  w.unet = std::make_unique<models::UNet2DConditionModel>(sd.unet.config, *w.unet_store);
  return w;
}

EzigenWeights random_ezigen_weights(StableDiffusion& sd, uint64_t seed) {
  EzigenWeights w;
  w.file = "random adapters";
  w.source = std::make_unique<models::RandomSource>(seed);
  w.adapter_store = std::make_unique<models::WeightStore>(sd.ctx, *w.source, sd.dtype, "adapter");
  w.adapter = std::make_unique<models::EzigenAdapter>(*sd.unet.model, *w.adapter_store);
  return w;
}

}  // namespace ezivk::pipeline
