#pragma once
// GroupNorm over x [B, C, ...] (any rank >= 3; the trailing dimensions are flattened), optionally fused with
// the SiLU that follows it in every ResNet block. gamma and beta are f32 [C] whatever x's dtype: they are a
// few hundred values, and keeping them f32 costs nothing while fp16 weights would add rounding.
// y may not share memory with x.
#include <cstdint>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/gpu/recorder.h"
#include "engine/ops/tensor.h"

namespace ezivk::ops {

void group_norm(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                const Tensor& y, uint32_t groups, float eps, bool silu = false);

// x is [batch, channels, spatial] flattened; statistics in double.
std::vector<float> group_norm_ref(const std::vector<float>& x, const std::vector<float>& gamma,
                                  const std::vector<float>& beta, int64_t batch, int64_t channels, int64_t spatial,
                                  int64_t groups, float eps, bool silu = false);

}  // namespace ezivk::ops
