#include "engine/models/torch_checkpoint_source.h"

#include <algorithm>

#include "engine/util/error.h"

namespace ezivk::models {

const io::TorchTensor& TorchCheckpointSource::find(const std::string& name) const {
  const io::TorchTensor* t = ck_.find(name);
  if (!t) fail(describe() + ": missing tensor '" + name + "'");
  return *t;
}

std::vector<int64_t> TorchCheckpointSource::check(const std::string& name,
                                                  const std::vector<std::vector<int64_t>>& allowed) {
  const io::TorchTensor* t = ck_.find(name);
  std::string shapes;
  for (size_t i = 0; i < allowed.size(); ++i) shapes += (i ? " or " : "") + ops::shape_string(allowed[i]);
  if (!t) fail(describe() + ": missing tensor '" + name + "' (expected shape " + shapes + ")");
  if (std::find(allowed.begin(), allowed.end(), t->shape) == allowed.end())
    fail(describe() + ": tensor '" + name + "' has shape " + ops::shape_string(t->shape) + ", expected " + shapes);
  used_.insert(name);
  return t->shape;
}

void TorchCheckpointSource::read(const std::string& name, float* dst) { ck_.to_f32(find(name), dst); }

std::string TorchCheckpointSource::dtype(const std::string& name) const {
  return io::torch_dtype_name(find(name).dtype);
}

std::vector<std::string> TorchCheckpointSource::unused() const {
  std::vector<std::string> out;
  for (auto& t : ck_.tensors())
    if (!used_.count(t.name)) out.push_back(t.name);
  return out;
}

std::vector<std::string> TorchCheckpointSource::names() const {
  std::vector<std::string> out;
  for (auto& t : ck_.tensors()) out.push_back(t.name);
  return out;
}

std::vector<int64_t> TorchCheckpointSource::shape(const std::string& name) const { return find(name).shape; }

}  // namespace ezivk::models
