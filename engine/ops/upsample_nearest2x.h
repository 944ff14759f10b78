#pragma once
// Nearest-neighbour 2x upsampling, x [B, C, H, W] -> y [B, C, 2H, 2W] (the UNet's and VAE's Upsample2D before
// their 3x3 conv). y may not share memory with x.
#include <cstdint>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/gpu/recorder.h"
#include "engine/ops/tensor.h"

namespace ezivk::ops {

void upsample_nearest2x(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& x, const Tensor& y);

// x is `planes` (B·C) planes of h × w.
std::vector<float> upsample_nearest2x_ref(const std::vector<float>& x, int64_t planes, int64_t h, int64_t w);

}  // namespace ezivk::ops
