#pragma once
// Runs a model forward: plans it (planning-mode Graph) to learn its activation peak, keeps an arena of at least
// that size, records the forward for real and submits it. The arena is reused by later runs and grows only when a
// bigger plan needs it.
#include <functional>
#include <memory>
#include <string>

#include "engine/models/graph.h"

namespace ezivk::models {

class GraphRunner {
 public:
  GraphRunner(gpu::Context& ctx, std::string name, bool timing = false);

  // Plans, records and submits `forward`; waits. The returned tensor stays valid until the next run.
  Tensor run(DType dtype, const std::function<Act(Graph&)>& forward, const DumpOptions* dump = nullptr);
  // Plans and records `forward` without submitting, so the caller can record more work (a scheduler step) into
  // recorder() before submitting. The returned tensor stays valid until the next record/run.
  Tensor record(DType dtype, const std::function<Act(Graph&)>& forward, const DumpOptions* dump = nullptr);
  // Plans only: the activation bytes `forward` needs. Fails, before anything is recorded, when an op of the
  // forward would bind a tensor wider than the device's storage-buffer range (the message starts with `name`).
  uint64_t plan(DType dtype, const std::function<Act(Graph&)>& forward) { return plan(ctx_, name_, dtype, forward); }
  static uint64_t plan(gpu::Context& ctx, const std::string& name, DType dtype,
                       const std::function<Act(Graph&)>& forward);
  // Plans only, and never fails on binding widths: for callers that choose a smaller decomposition (tiled VAE
  // decoding) when `widest` does not fit. Planning needs no recorder, so it needs no runner either.
  struct Plan {
    uint64_t activation_bytes = 0;
    WholeBinding widest;
    bool fits(const gpu::Context& ctx) const { return widest.bytes <= ctx.caps().max_storage_buffer_range; }
  };
  static Plan plan_forward(gpu::Context& ctx, DType dtype, const std::function<Act(Graph&)>& forward);

  // Makes the arena at least `bytes` now, so runs of several models share one allocation of the largest plan
  // instead of growing (and briefly holding two arenas) run by run. Growing while commands are recorded and not yet
  // submitted is an Error (they point into the old arena).
  void reserve(uint64_t bytes);

  uint64_t activation_bytes() const { return arena_ ? arena_->capacity() : 0; }
  gpu::Recorder& recorder() { return rec_; }

 private:
  gpu::Context& ctx_;
  std::string name_;
  // Declared before the recorder so it is destroyed after it: the recorder's destructor waits for (or, after a
  // timeout, gives up on) work that may still use these activations.
  std::unique_ptr<gpu::Arena> arena_;
  gpu::Recorder rec_;
};

}  // namespace ezivk::models
