#pragma once
// Where the engine puts each step's x̂0 for the viewer (engine/pipeline/device_preview.h): a ring of slots in one
// device-local buffer that lives as long as the window, so a frame in flight never draws from freed memory. The
// generation thread asks for the next slot; the UI draws whichever slot the latest StepDone names. With 8 slots the
// engine writes a slot again only 8 steps later, and each write is ordered after the frames that drew it.
#include <memory>
#include <mutex>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/gpu/memory.h"
#include "engine/pipeline/device_preview.h"

namespace ezivk::viewer {

class PreviewRing {
 public:
  explicit PreviewRing(gpu::Context& ctx, int slots = 8) : ctx_(ctx), slots_(slots) {}
  // The next slot of `bytes` (thread-safe). A larger preview than the ring was made for makes a new ring; the old
  // one is kept until the viewer ends (frames may still draw from it).
  gpu::Slice next(uint64_t bytes);
  pipeline::PreviewSlot provider() { return [this](uint64_t bytes) { return next(bytes); }; }

 private:
  gpu::Context& ctx_;
  int slots_;
  std::mutex mu_;
  std::vector<gpu::Arena> rings_;  // the last one is in use
  uint64_t slot_bytes_ = 0;
  int next_ = 0;
};

}  // namespace ezivk::viewer
