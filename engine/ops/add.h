#pragma once
// out = a + alpha·b with b broadcast: residual adds, the time-embedding add h[B, C, HW] += e[B, C] and the
// position-embedding add. a and out are viewed as [outer, mid, inner]; b is read at
// o·stride_outer + m·stride_mid + i·stride_inner, each stride 0 (broadcast) or any step that stays inside b.
// out may be a itself (the same bytes: in place) but must not otherwise share memory with a or b.
#include <cstdint>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/gpu/recorder.h"
#include "engine/ops/tensor.h"

namespace ezivk::ops {

struct AddLayout {
  int64_t outer = 1, mid = 1, inner = 1;
  int64_t stride_outer = 0, stride_mid = 0, stride_inner = 0;

  // b has a's element count, read in order.
  static AddLayout same(int64_t n) { return {1, 1, n, 0, 0, 1}; }
  // b [B, C] added to every position of a [B, C, spatial].
  static AddLayout per_channel(int64_t batch, int64_t channels, int64_t spatial) {
    return {batch, channels, spatial, channels, 1, 0};
  }
  // b [n] added to each of the `batch` items of a [batch, n].
  static AddLayout over_batch(int64_t batch, int64_t n) { return {batch, 1, n, 0, 0, 1}; }
};

void add(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& a, const Tensor& b, const Tensor& out,
         const AddLayout& layout, float alpha = 1.f);
// Shorthand for AddLayout::same.
void add(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& a, const Tensor& b, const Tensor& out, float alpha = 1.f);

std::vector<float> add_ref(const std::vector<float>& a, const std::vector<float>& b, const AddLayout& layout,
                           float alpha = 1.f);

}  // namespace ezivk::ops
