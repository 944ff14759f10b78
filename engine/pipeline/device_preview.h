#pragma once
// Previews that stay on the device: each step's x̂0 copied, inside the step's own submit, into a slot of a buffer the
// consumer owns (the viewer binds it straight into its picture shader, with no host copy).
//
// Ordering on one queue: the copy is preceded by an execution barrier from every stage, so it runs after every
// earlier submission's use of the slot (a frame drawing an older step from it); the consumer's draws start with a
// barrier from transfer writes to its reads, which orders them after the copy (pipeline barriers cover earlier
// submissions in submission order).
#include <functional>
#include <vector>

#include "engine/gpu/memory.h"
#include "engine/gpu/recorder.h"
#include "engine/ops/tensor.h"

namespace ezivk::pipeline {

// Returns where the next preview of `bytes` goes (a device buffer slot the consumer keeps alive).
using PreviewSlot = std::function<gpu::Slice(uint64_t bytes)>;

struct DevicePreview {
  gpu::Slice slice;            // f32 [B, C, h, w], valid once the step's StepDone is reported
  std::vector<int64_t> shape;
};

DevicePreview record_preview_copy(gpu::Recorder& rec, const ops::Tensor& x0, const PreviewSlot& slot);

}  // namespace ezivk::pipeline
