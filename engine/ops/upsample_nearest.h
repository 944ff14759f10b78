#pragma once
// Nearest-neighbour resize to any size, as F.interpolate(size=(OH, OW), mode="nearest"): the UNet's upsamplers
// when the latent does not divide by its total downsampling (each up block then upsamples to its skip's size).
// The exact 2x case has its own kernel (upsample_nearest2x).
#include <vector>

#include "engine/gpu/context.h"
#include "engine/gpu/recorder.h"
#include "engine/ops/tensor.h"

namespace ezivk::ops {

// x [B, C, H, W] -> y [B, C, OH, OW] (y's shape says the size); y may not share memory with x.
void upsample_nearest(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& x, const Tensor& y);

// PyTorch's rule in fp32: src = min(floor(dst · (float(in) / out)), in − 1).
std::vector<float> upsample_nearest_ref(const std::vector<float>& x, int64_t planes, int64_t h, int64_t w, int64_t oh,
                                        int64_t ow);

}  // namespace ezivk::ops
