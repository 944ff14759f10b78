#pragma once
// Element-wise activations: SiLU (UNet, VAE), GELU with the exact erf (SD2's CLIP text encoder) and
// quick GELU x·sigmoid(1.702x) (SD1's CLIP). y has x's shape and dtype and may not share memory with x.
#include <cstdint>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/gpu/recorder.h"
#include "engine/ops/tensor.h"

namespace ezivk::ops {

enum class Activation : uint32_t { SiLU = 0, GELU = 1, QuickGELU = 2 };  // values are the shader's codes
const char* activation_name(Activation a);

void activation(gpu::Context& ctx, gpu::Recorder& rec, Activation kind, const Tensor& x, const Tensor& y);

// In double, GELU through std::erf.
double activation_ref(Activation kind, double x);
std::vector<float> activation_ref(Activation kind, const std::vector<float>& x);

}  // namespace ezivk::ops
