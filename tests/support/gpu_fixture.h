#pragma once
// Shared test support: one validated Vulkan context per test binary (pipelines are slow to build on
// lavapipe, so they are shared), a fixture that fails any test during which the validation layer spoke,
// seeded random data, guarded device buffers and normalised error.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/gpu/memory.h"
#include "engine/gpu/recorder.h"
#include "engine/ops/tensor.h"

namespace ezivk::test {

gpu::Context& shared_context();
// A context whose cooperative-matrix kernels use a shape with fp16 accumulators (never chosen by default), or
// nullptr where the device offers none. Its kernels skip the self-check: tests must see a broken kernel.
gpu::Context* acc16_context();
// A context that runs the cooperative-matrix kernels wherever an op can (forced on CPU drivers, self-check off),
// or nullptr where the device has none.
gpu::Context* forced_coopmat_context();
// A context that treats the device's storage-buffer range as kSmallStorageRange bytes, so tensors of a few KiB
// take the paths (row runs, table runs, tiled decoding) that real sizes take on devices with a small range.
inline constexpr uint64_t kSmallStorageRange = 16 << 10;
gpu::Context& small_range_context();
// Releases the contexts before static destruction (the validation layer's own statics are gone by then).
void release_contexts();

class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  gpu::Context& ctx() { return shared_context(); }
  void check_validation(gpu::Context& c);
};

std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f);

// max |a-b| / max(|b|) over the arrays: a scale-aware error for comparing against a reference.
double normalized_error(const std::vector<float>& got, const std::vector<float>& want);
double max_abs(const std::vector<float>& v);

using ops::DType;
using ops::dtype_bytes;
using ops::dtype_name;

// A device buffer of `count` elements with guard regions of known bytes on both sides: after the GPU work,
// guards_intact() tells whether a kernel wrote outside its range.
class Guarded {
 public:
  Guarded(gpu::Context& ctx, gpu::Arena& arena, size_t count, DType t);
  const gpu::Slice& slice() const { return inner_; }
  void upload(const std::vector<float>& values);  // converts to the dtype (fp16 rounds)
  std::vector<float> download() const;
  bool guards_intact() const;
  size_t count() const { return count_; }
  // The inner range as a tensor of the given shape.
  ops::Tensor tensor(std::vector<int64_t> shape) const { return {inner_, type_, std::move(shape)}; }

 private:
  gpu::Context& ctx_;
  gpu::Slice outer_, inner_;
  size_t count_, guard_bytes_;
  DType type_;
};

// Rounds each value through the dtype (identity for f32): the reference sees what the GPU sees.
std::vector<float> quantize(std::vector<float> v, DType t);

}  // namespace ezivk::test
