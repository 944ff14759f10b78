#pragma once
// A loaded model component: its config, the weights on the device and the model graph that points into them,
// plus what `ezivk inspect` reports. Loading in dry mode (no context) checks every tensor name and shape and
// counts parameters and bytes without reading weights or touching the device.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/models/model_folder.h"
#include "engine/models/weights.h"

namespace ezivk::models {

struct ComponentReport {
  std::string name;                             // "unet", "vae", "text_encoder"
  std::vector<std::string> files;
  int64_t parameters = 0, tensors = 0;
  uint64_t device_bytes = 0;                    // weights on the device in the compute dtype
  std::map<std::string, uint64_t> stored_bytes;  // by stored dtype
  std::vector<std::string> unused;              // tensors in the files the model never reads
};

template <class Model, class Config>
struct Component {
  Config config;
  std::unique_ptr<WeightSource> source;  // kept: the store refers to it
  std::unique_ptr<WeightStore> weights;  // owns the device memory the model's tensors point into
  std::unique_ptr<Model> model;
  ComponentReport report;
};

// The device bytes a model's weights take, from a dry construction (names and shapes only, nothing read).
template <class Model, class Config, class... Extra>
uint64_t dry_bytes(const Config& config, WeightSource& source, ops::DType dtype, const Extra&... extra) {
  WeightStore dry(nullptr, source, dtype, "plan");
  Model m(config, dry, extra...);
  return dry.device_bytes();
}

// Builds c.model from c.config and c.source (both set) and fills the report's counts. ctx == nullptr: dry mode.
template <class Model, class Config, class... Extra>
void build_component(Component<Model, Config>& c, const std::string& name, gpu::Context* ctx, ops::DType dtype,
                     Extra&&... extra) {
  c.weights = std::make_unique<WeightStore>(ctx, *c.source, dtype, name);
  if (ctx) c.weights->set_capacity_hint(dry_bytes<Model>(c.config, *c.source, dtype, extra...));
  c.model = std::make_unique<Model>(c.config, *c.weights, std::forward<Extra>(extra)...);
  c.report.name = name;
  c.report.parameters = c.weights->parameters();
  c.report.tensors = c.weights->tensor_count();
  c.report.device_bytes = c.weights->device_bytes();
  c.report.unused = c.source->unused();
}

// A model from its config file and weight files: Model(config, store, extra...). ctx == nullptr: dry mode.
template <class Model, class Config, class... Extra>
Component<Model, Config> load_component_files(const std::filesystem::path& config_file,
                                              const std::vector<std::filesystem::path>& weight_files,
                                              const std::string& name, gpu::Context* ctx, ops::DType dtype,
                                              Extra&&... extra) {
  Component<Model, Config> c;
  c.config = Config::from_file(config_file);
  auto src = std::make_unique<SafetensorsSource>(weight_files);
  c.report.stored_bytes = src->bytes_by_dtype();
  c.source = std::move(src);
  for (auto& f : weight_files) c.report.files.push_back(f.string());
  build_component(c, name, ctx, dtype, std::forward<Extra>(extra)...);
  return c;
}

// Loads `component` ("unet", "vae", "text_encoder") of `folder`.
template <class Model, class Config, class... Extra>
Component<Model, Config> load_component(const ModelFolder& folder, const std::string& component, gpu::Context* ctx,
                                        ops::DType dtype, Extra&&... extra) {
  return load_component_files<Model, Config>(folder.config(component), folder.weights(component), component, ctx,
                                             dtype, std::forward<Extra>(extra)...);
}

// The same model with deterministic random weights (benchmarks of full-size shapes without a download).
template <class Model, class Config, class... Extra>
Component<Model, Config> random_component(const Config& config, const std::string& name, gpu::Context* ctx,
                                          ops::DType dtype, uint64_t seed, Extra&&... extra) {
  Component<Model, Config> c;
  c.config = config;
  c.source = std::make_unique<RandomSource>(seed);
  build_component(c, name, ctx, dtype, std::forward<Extra>(extra)...);
  return c;
}

}  // namespace ezivk::models
