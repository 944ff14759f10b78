#pragma once
// Batched matrix transpose x [B, R, C] -> y [B, C, R]: the layout change between the UNet's and VAE's NCHW feature
// maps ([B, C, H·W]) and the token-major [B, H·W, C] rows their attention blocks work on.
#include <vector>

#include "engine/gpu/context.h"
#include "engine/gpu/recorder.h"
#include "engine/ops/tensor.h"

namespace ezivk::ops {

// x is [B, R, C] (or [R, C]); y has the transposed shape and x's dtype and may not share memory with x.
void transpose(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& x, const Tensor& y);

std::vector<float> transpose_ref(const std::vector<float>& x, int64_t batch, int64_t rows, int64_t cols);

}  // namespace ezivk::ops
