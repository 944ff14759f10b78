#pragma once
// Channel concatenation of a [B, C1, ...] and b [B, C2, ...] into y [B, C1 + C2, ...] (a first): the UNet's
// up path joins [hidden, skip] this way. Trailing dimensions must match; y may not share memory with a or b.
#include <cstdint>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/gpu/recorder.h"
#include "engine/ops/tensor.h"

namespace ezivk::ops {

void concat_channels(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& a, const Tensor& b, const Tensor& y);

// a is [batch, c1, spatial], b [batch, c2, spatial].
std::vector<float> concat_channels_ref(const std::vector<float>& a, const std::vector<float>& b, int64_t batch,
                                       int64_t c1, int64_t c2, int64_t spatial);

}  // namespace ezivk::ops
