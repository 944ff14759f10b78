#include "engine/models/model_folder.h"

#include <algorithm>

#include "engine/util/error.h"
#include "engine/io/json_file.h"
#include "engine/io/file_check.h"

namespace ezivk::models {

namespace fs = std::filesystem;

namespace {

const char* weight_stem(const std::string& component) {
  return component == "text_encoder" ? "model" : "diffusion_pytorch_model";
}

std::vector<fs::path> shards(const fs::path& index_file) {
  io::JsonFile idx(index_file);
  if (!idx.json().contains("weight_map") || !idx.json()["weight_map"].is_object())
    fail(index_file.string() + ": missing object 'weight_map'");
  if (idx.json()["weight_map"].empty()) fail(index_file.string() + ": 'weight_map' is empty (it must map every tensor to its shard)");
  std::vector<fs::path> files;
  for (auto& [name, file] : idx.json()["weight_map"].items()) {
    if (!file.is_string()) fail(index_file.string() + ": weight_map['" + name + "'] must be a file name");
    const fs::path p = index_file.parent_path() / file.get<std::string>();
    if (fs::path(file.get<std::string>()).has_parent_path())
      fail(index_file.string() + ": weight_map['" + name + "'] must name a file in the same folder");
    if (std::find(files.begin(), files.end(), p) == files.end()) files.push_back(p);
  }
  for (auto& f : files)
    if (const auto why = io::not_a_file_reason(f); !why.empty())
      fail(index_file.string() + ": shard " + f.string() + " " + why);
  return files;
}

}  // namespace

ModelFolder::ModelFolder(fs::path root, std::string variant) : root_(std::move(root)), variant_(std::move(variant)) {
  if (!variant_.empty() && variant_ != "fp16")
    fail("model variant '" + variant_ + "' is not supported (expected fp16 or nothing)");
  if (!fs::is_directory(root_)) fail(root_.string() + ": not a model folder (no such directory)");
  if (!fs::is_regular_file(root_ / "model_index.json") && !has("unet") && !has("vae") && !has("text_encoder"))
    fail(root_.string() + ": not a diffusers model folder (no model_index.json, unet/, vae/ or text_encoder/)");
}

bool ModelFolder::has(const std::string& component) const { return fs::is_directory(root_ / component); }

fs::path ModelFolder::config(const std::string& component) const {
  const fs::path p = root_ / component / (component == "scheduler" ? "scheduler_config.json" : "config.json");
  if (const auto why = io::not_a_file_reason(p); !why.empty())
    fail(p.string() + ": " + (why == "does not exist" ? "missing" : why) + " (the " + component + " configuration)");
  return p;
}

std::vector<fs::path> ModelFolder::weights(const std::string& component) const {
  const fs::path dir = root_ / component;
  const std::string stem = weight_stem(component);
  if (!fs::is_directory(dir)) fail(dir.string() + ": missing (the " + component + " folder)");
  std::vector<std::string> order = {stem + ".safetensors", stem + ".fp16.safetensors"};
  if (variant_ == "fp16") std::swap(order[0], order[1]);
  for (auto& name : order) {
    if (fs::is_regular_file(dir / name)) return {dir / name};
    if (fs::is_regular_file(dir / (name + ".index.json"))) return shards(dir / (name + ".index.json"));
  }
  for (auto ext : {".bin", ".fp16.bin", ".ckpt"})
    if (fs::exists(dir / (stem + ext)))
      fail((dir / (stem + ext)).string() + ": PyTorch pickle weights are not read (a pickle can run code); convert "
           "the folder to safetensors (" + stem + ".safetensors)");
  fail(dir.string() + ": no weights (expected " + stem + ".safetensors or " + stem + ".fp16.safetensors)");
}

fs::path ModelFolder::tokenizer_dir() const {
  const fs::path d = root_ / "tokenizer";
  if (!fs::is_directory(d)) fail(d.string() + ": missing (the tokenizer folder)");
  return d;
}

std::string ModelFolder::pipeline_class() const {
  const fs::path p = root_ / "model_index.json";
  if (!fs::is_regular_file(p)) return "";
  return io::JsonFile(p).string("_class_name", "");
}

}  // namespace ezivk::models
