#pragma once
// GEGLU, the feed-forward gate of SD's transformer blocks (diffusers GEGLU):
// hidden, gate = x.chunk(2, dim=-1); y = hidden * GELU_erf(gate). x [..., 2D] -> y [..., D]; y may not share
// memory with x.
#include <cstdint>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/gpu/recorder.h"
#include "engine/ops/tensor.h"

namespace ezivk::ops {

void geglu(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& x, const Tensor& y);

// x is [rows, 2 * d]; in double.
std::vector<float> geglu_ref(const std::vector<float>& x, int64_t rows, int64_t d);

}  // namespace ezivk::ops
