#pragma once
// Model parameters: where they come from (a folder's safetensors files, or deterministic random values for
// benchmarks) and where they go (device arenas, converted to the compute dtype on upload). A store in dry mode
// checks every name and shape and counts bytes without reading data or touching the device: `ezivk inspect`
// and memory planning use it.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/gpu/memory.h"
#include "engine/io/safetensors.h"
#include "engine/ops/tensor.h"

namespace ezivk::models {

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  // The shape stored for `name`, which must be one of `allowed` (same element order); Error naming the file and
  // the tensor when it is missing or has another shape.
  virtual std::vector<int64_t> check(const std::string& name, const std::vector<std::vector<int64_t>>& allowed) = 0;
  // Reads `name` as float32 (after check).
  virtual void read(const std::string& name, float* dst) = 0;
  // The stored dtype ("F16") or "" when not applicable.
  virtual std::string dtype(const std::string& name) const = 0;
  // Whether the source holds `name` (choosing between naming schemes, e.g. the VAE's query/key/value vs to_q/...).
  virtual bool contains(const std::string& name) const = 0;
  // Tensors present but never asked for (after a full load).
  virtual std::vector<std::string> unused() const = 0;
  // A tensor the model knowingly does not read (a buffer such as CLIP's position_ids): not reported as unused.
  virtual void expect_unread(const std::string& name) = 0;
  virtual std::string describe() const = 0;
  // Every tensor name the source holds and a tensor's stored shape (sources that know them; others: empty).
  virtual std::vector<std::string> names() const { return {}; }
  virtual std::vector<int64_t> shape(const std::string& name) const;
};

// One or more safetensors files (sharded checkpoints), names unique across them.
class SafetensorsSource : public WeightSource {
 public:
  explicit SafetensorsSource(const std::vector<std::filesystem::path>& files);
  std::vector<int64_t> check(const std::string& name, const std::vector<std::vector<int64_t>>& allowed) override;
  void read(const std::string& name, float* dst) override;
  std::string dtype(const std::string& name) const override;
  bool contains(const std::string& name) const override { return index_.count(name) != 0; }
  std::vector<std::string> unused() const override;
  void expect_unread(const std::string& name) override { used_.insert(name); }
  std::string describe() const override;
  // Stored bytes per dtype name, over all tensors.
  std::map<std::string, uint64_t> bytes_by_dtype() const;
  std::vector<std::string> names() const override;
  std::vector<int64_t> shape(const std::string& name) const override { return find(name).tensor->shape; }

 private:
  struct Where {
    const io::SafetensorsFile* file;
    const io::StTensor* tensor;
  };
  Where find(const std::string& name) const;
  std::vector<std::unique_ptr<io::SafetensorsFile>> files_;
  std::map<std::string, Where> index_;
  std::set<std::string> used_;
};

// Deterministic pseudo-random parameters for any requested shape (benchmarks of full-size models without a
// download): weights uniform with variance 1/fan_in, biases small, norm scales near 1 — activations stay in
// range through a deep network.
class RandomSource : public WeightSource {
 public:
  explicit RandomSource(uint64_t seed = 1) : seed_(seed) {}
  std::vector<int64_t> check(const std::string& name, const std::vector<std::vector<int64_t>>& allowed) override;
  void read(const std::string& name, float* dst) override;
  std::string dtype(const std::string&) const override { return "random"; }
  // Any name exists; naming-scheme choices take the current diffusers names.
  bool contains(const std::string&) const override { return true; }
  std::vector<std::string> unused() const override { return {}; }
  void expect_unread(const std::string&) override {}
  std::string describe() const override { return "random weights"; }

 private:
  uint64_t seed_;
  std::map<std::string, std::vector<int64_t>> shapes_;
};

// How a parameter is laid out on the device.
enum class ParamKind {
  Matrix,   // compute dtype, as stored ([out, in] for Linear; a 1×1 conv weight is accepted as [out, in, 1, 1])
  Vector,   // compute dtype (biases)
  Float32,  // always f32 (norm parameters)
  ConvOHWI, // compute dtype, OIHW permuted to OHWI
};

class WeightStore {
 public:
  // ctx == nullptr: dry mode (nothing is read or uploaded; tensors have no memory).
  WeightStore(gpu::Context* ctx, WeightSource& source, ops::DType dtype, std::string name);

  ops::Tensor matrix(const std::string& name, int64_t rows, int64_t cols);
  // Several [rows_i, cols] matrices stacked into one [Σ rows_i, cols] (fused projections such as QKV).
  ops::Tensor matrix_concat(const std::vector<std::string>& names, const std::vector<int64_t>& rows, int64_t cols);
  ops::Tensor vector(const std::string& name, int64_t n);
  ops::Tensor vector_concat(const std::vector<std::string>& names, const std::vector<int64_t>& n);
  ops::Tensor f32(const std::string& name, int64_t n);
  ops::Tensor conv(const std::string& name, int64_t cout, int64_t cin, int64_t kh, int64_t kw);

  // The bytes a dry load of the same model counted: arenas are then sized to fit instead of 256 MiB chunks.
  void set_capacity_hint(uint64_t bytes) { hint_ = bytes; }

  // Shares tensors with a store loaded before (same dtype): a placement whose names are all in `same` (identical
  // values in both sources) returns `other`'s device tensor instead of uploading a copy. EZIGen's generating UNet
  // shares every unchanged tensor with the model folder's UNet this way. `other` must outlive this store.
  void share_from(const WeightStore& other, std::set<std::string> same);
  uint64_t shared_bytes() const { return shared_bytes_; }

  bool dry() const { return ctx_ == nullptr; }
  ops::DType dtype() const { return dtype_; }
  uint64_t device_bytes() const { return bytes_; }
  int64_t parameters() const { return params_; }
  int64_t tensor_count() const { return tensors_; }
  const std::vector<gpu::Arena>& arenas() const { return arenas_; }
  WeightSource& source() { return *source_; }

 private:
  ops::Tensor place(std::vector<int64_t> shape, ops::DType dt, const std::vector<float>& values);
  // The shared tensor for these names, after checking their shapes here (nullopt: place a copy).
  std::optional<ops::Tensor> borrow(const std::vector<std::string>& names,
                                    const std::vector<std::vector<std::vector<int64_t>>>& allowed);
  ops::Tensor remember(const std::vector<std::string>& names, ops::Tensor t);
  // Checks each tensor against its allowed shapes and reads them one after another as float32 (nothing in dry
  // mode).
  std::vector<float> read_stacked(const std::vector<std::string>& names,
                                  const std::vector<std::vector<std::vector<int64_t>>>& allowed);
  gpu::Context* ctx_;
  WeightSource* source_;
  ops::DType dtype_;
  std::string name_;
  std::vector<gpu::Arena> arenas_;
  uint64_t bytes_ = 0, hint_ = 0, shared_bytes_ = 0;
  int64_t params_ = 0, tensors_ = 0;
  std::map<std::string, ops::Tensor> placed_;  // by the names of a placement, joined with '|'
  const WeightStore* share_ = nullptr;
  std::set<std::string> same_;
};

}  // namespace ezivk::models
