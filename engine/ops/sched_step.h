#pragma once
// The scheduler step on the GPU: the denoising loop never brings the latent back to the host. The host computes a
// step's coefficients (engine/sched packs them into the block engine/ops/sched_step_layout.h describes) and this
// op applies them to every element, fused with classifier-free guidance; sched_model_input makes the UNet's
// (scaled, batch-duplicated) input from the latent.
#include <optional>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/gpu/recorder.h"
#include "engine/ops/tensor.h"
#include "engine/ops/sched_step_layout.h"

namespace ezivk::ops {

struct SchedStepArgs {
  Tensor x;                      // f32 [B, ...] latent, updated in place
  Tensor model_out;              // [B, ...], or [2B, ...] (uncond items, then cond) when guided; f32 or f16
  bool guided = false;
  float guidance = 1.f;
  std::optional<Tensor> noise;   // f32, x's shape (steps that draw noise)
  std::optional<Tensor> history; // f32 [slots, B, ...] kept between steps
  Tensor x0;                     // f32, x's shape: the step's predicted x̂0
  Tensor coefficients;           // f32 [kStepCoefficientFloats] (sched_step_layout.h; sched::pack_step_coefficients)
};
void sched_step(gpu::Context& ctx, gpu::Recorder& rec, const SchedStepArgs& a);

// y [copies·B, ...] (model dtype) = scale · x (f32 [B, ...]) repeated `copies` times along the batch.
void sched_model_input(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& x, const Tensor& y, float scale);

// Reference of sched_step on host arrays (history [slots·n], updated), in double; returns x_next, sets x0.
std::vector<float> sched_step_ref(const std::vector<float>& x, const std::vector<float>& model_out, bool guided,
                                  float guidance, const std::vector<float>* noise, std::vector<float>* history,
                                  const std::vector<float>& coefficients, std::vector<float>& x0);

}  // namespace ezivk::ops
