#pragma once
// LayerNorm over the last dimension of x [..., C] (leading dimensions are rows). gamma and beta are f32 [C]
// whatever x's dtype (as for group_norm). y may not share memory with x.
#include <cstdint>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/gpu/recorder.h"
#include "engine/ops/tensor.h"

namespace ezivk::ops {

void layer_norm(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                const Tensor& y, float eps);

// x is [rows, cols]; statistics in double.
std::vector<float> layer_norm_ref(const std::vector<float>& x, const std::vector<float>& gamma,
                                  const std::vector<float>& beta, int64_t rows, int64_t cols, float eps);

}  // namespace ezivk::ops
