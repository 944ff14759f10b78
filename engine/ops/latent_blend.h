#pragma once
// x = x·m + bg·(1 − m) in place, the mask [h, w] broadcast over x [B, C, h, w] (EZIGen editing keeps the source's
// inverted latent outside the mask after every step). All fp32.
#include <vector>

#include "engine/gpu/context.h"
#include "engine/gpu/recorder.h"
#include "engine/ops/tensor.h"

namespace ezivk::ops {

void latent_blend(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& x, const Tensor& bg, const Tensor& mask);
std::vector<float> latent_blend_ref(std::vector<float> x, const std::vector<float>& bg, const std::vector<float>& mask);

}  // namespace ezivk::ops
