#pragma once
// Model parameters from a torch.save checkpoint (pytorch_model.bin), read without executing the pickle
// (engine/io/torch_checkpoint.h); tensors stay in the mapped file until converted.
#include <set>

#include "engine/io/torch_checkpoint.h"
#include "engine/models/weights.h"

namespace ezivk::models {

class TorchCheckpointSource : public WeightSource {
 public:
  explicit TorchCheckpointSource(const std::filesystem::path& file) : ck_(file) {}
  std::vector<int64_t> check(const std::string& name, const std::vector<std::vector<int64_t>>& allowed) override;
  void read(const std::string& name, float* dst) override;
  std::string dtype(const std::string& name) const override;
  bool contains(const std::string& name) const override { return ck_.find(name) != nullptr; }
  std::vector<std::string> unused() const override;
  void expect_unread(const std::string& name) override { used_.insert(name); }
  std::string describe() const override { return ck_.path().string(); }
  std::vector<std::string> names() const override;
  std::vector<int64_t> shape(const std::string& name) const override;

 private:
  const io::TorchTensor& find(const std::string& name) const;
  io::TorchCheckpoint ck_;
  std::set<std::string> used_;
};

}  // namespace ezivk::models
