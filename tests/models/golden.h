#pragma once
// Test support for model code checked against golden tensors: where the tiny model folders and their golden
// .npy files live (tests/fixtures/{models,golden}/<name>/, made by tools/fixtures/make_tiny_models.py), loading
// them, putting inputs on the device, comparing outputs, and making broken copies of checkpoints for error tests.
// Header-only because tests/CMakeLists.txt compiles only *_test.cpp and support/*.cpp.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/util/error.h"
#include "engine/gpu/memory.h"
#include "engine/io/npy.h"
#include "engine/io/safetensors.h"
#include "engine/models/graph.h"
#include "engine/ops/tensor.h"

namespace ezivk::test {

inline std::filesystem::path fixtures_dir() {
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "fixtures";
}
inline std::filesystem::path model_dir(const std::string& model) { return fixtures_dir() / "models" / model; }
inline std::filesystem::path golden_dir(const std::string& model) { return fixtures_dir() / "golden" / model; }

struct GoldenTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

// tests/fixtures/golden/<model>/<file> as float32 (read_npy's Error names the file when it is missing or bad).
inline GoldenTensor load_golden(const std::string& model, const std::string& file) {
  const io::NpyArray a = io::read_npy(golden_dir(model) / file);
  return {a.shape, a.as_f32()};
}

inline std::vector<int64_t> load_golden_i64(const std::string& model, const std::string& file,
                                            std::vector<int64_t>* shape = nullptr) {
  const io::NpyArray a = io::read_npy(golden_dir(model) / file);
  if (shape) *shape = a.shape;
  return a.as_i64();
}

// ‖got − want‖₂ / ‖want‖₂; infinity when the sizes differ or got holds a non-finite value.
inline double relative_l2(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size() || want.empty()) return std::numeric_limits<double>::infinity();
  double diff = 0, ref = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i])) return std::numeric_limits<double>::infinity();
    const double d = double(got[i]) - double(want[i]);
    diff += d * d;
    ref += double(want[i]) * double(want[i]);
  }
  return std::sqrt(diff) / std::max(std::sqrt(ref), 1e-30);
}

// What a model forward must reach against a float32 golden tensor.
inline double golden_tolerance(ops::DType dtype) { return dtype == ops::DType::F16 ? 1e-2 : 1e-4; }

// A model input on the device in its own arena: floats converted to `dtype` (fp16 rounds), or raw uint32 ids.
class DeviceTensor {
 public:
  DeviceTensor(gpu::Context& ctx, std::vector<int64_t> shape, ops::DType dtype, const std::vector<float>& values)
      : t_{{}, dtype, std::move(shape)} {
    arena_ = gpu::Arena(ctx, "test input", std::max<uint64_t>(t_.bytes(), 4) + 256, gpu::MemoryUse::Device);
    t_.data = arena_.alloc(t_.bytes());
    models::upload_floats(ctx, t_, values);
  }
  // The tensor is [ids.size()] with a nominal f32 dtype: the bits are the ids.
  DeviceTensor(gpu::Context& ctx, const std::vector<uint32_t>& ids) : t_{{}, ops::DType::F32, {int64_t(ids.size())}} {
    arena_ = gpu::Arena(ctx, "test ids", std::max<uint64_t>(t_.bytes(), 4) + 256, gpu::MemoryUse::Device);
    t_.data = arena_.alloc(t_.bytes());
    ctx.upload(t_.data, ids.data(), ids.size() * 4);
  }
  const ops::Tensor& tensor() const { return t_; }
  const gpu::Slice& slice() const { return t_.data; }

 private:
  gpu::Arena arena_;
  ops::Tensor t_;
};

// Copies safetensors file `src` to `dst` with tensor `name` dropped (no new_shape) or replaced by float32 zeros of
// `new_shape`; Error when `src` has no such tensor. Every other tensor is copied byte for byte.
inline void copy_safetensors_with(const std::filesystem::path& src, const std::filesystem::path& dst,
                                  const std::string& name, const std::optional<std::vector<int64_t>>& new_shape) {
  const io::SafetensorsFile in(src);
  if (!in.find(name)) fail(src.string() + ": no tensor '" + name + "' to drop or reshape");
  std::vector<io::StWriteTensor> out;
  for (const auto& t : in.tensors()) {
    if (t.name != name) {
      const auto b = in.bytes(t);
      out.push_back({t.name, t.dtype, t.shape, std::vector<std::byte>(b.begin(), b.end())});
    } else if (new_shape) {
      int64_t n = 1;
      for (auto d : *new_shape) n *= d;
      out.push_back({t.name, io::StDType::F32, *new_shape, std::vector<std::byte>(size_t(n) * 4)});
    }
  }
  io::write_safetensors(dst, out, in.metadata());
}

// A fresh directory under gtest's temp dir, removed with its contents when this goes out of scope.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag) {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::path(::testing::TempDir()) /
            ("ezivk_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);  // best effort: a leftover temp dir must not fail a test
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace ezivk::test
