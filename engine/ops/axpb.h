#pragma once
// y = a·x + b element-wise. The simplest kernel; the core's tests and the bandwidth probe use it.
#include "engine/gpu/context.h"
#include "engine/gpu/recorder.h"
#include "engine/ops/tensor.h"

namespace ezivk::ops {

void axpb(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& x, const Tensor& y, float a, float b);
std::vector<float> axpb_ref(const std::vector<float>& x, float a, float b);

}  // namespace ezivk::ops
