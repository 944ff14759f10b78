#pragma once
// Sinusoidal timestep embedding as diffusers' get_timestep_embedding: timesteps [B] (always f32) ->
// y [B, dim] in y's dtype. With half = dim / 2 and f_i = exp(-ln(max_period) · i / (half - downscale_freq_shift)),
// row b is [sin(t_b f_i), cos(t_b f_i)], or [cos, sin] with flip_sin_to_cos, plus a zero column when dim is
// odd. SD2's UNet uses flip_sin_to_cos = true, downscale_freq_shift = 0. Accurate to ~1e-7 for |t| up to ~12000.
#include <cstdint>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/gpu/recorder.h"
#include "engine/ops/tensor.h"

namespace ezivk::ops {

void timestep_embedding(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& timesteps, const Tensor& y,
                        bool flip_sin_to_cos, float downscale_freq_shift, double max_period = 10000.0);

// In double.
std::vector<float> timestep_embedding_ref(const std::vector<float>& timesteps, int64_t dim, bool flip_sin_to_cos,
                                          float downscale_freq_shift, double max_period = 10000.0);

}  // namespace ezivk::ops
