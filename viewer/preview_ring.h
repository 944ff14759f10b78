#pragma once
// Where the engine puts each step's x̂0 for the viewer (engine/pipeline/device_preview.h): a ring of slots in one
// device-local buffer that lives as long as the window, so a frame in flight never draws from freed memory. The
// generation thread asks for the next slot; the UI draws whichever slot the latest StepDone names.
//
// A slot is written again only after every frame that may have drawn it is done: when the UI takes a state naming a
// slot (under the run's state lock, so before the run can hand that slot out again) the slot is marked with the
// number of the frame being built, and next() waits on the window's frame timeline for that number before handing
// the slot out. On a one-queue device the engine's copy is also ordered after earlier frames by a barrier; with the
// window on a queue of its own (Context::ui_queue) this wait is the only thing that orders them.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/gpu/memory.h"
#include "engine/pipeline/device_preview.h"

namespace ezivk::viewer {

class PreviewRing {
 public:
  // `stall_s`: how long next() waits for a frame before it moves the run to a fresh ring instead (at most
  // `max_stall_rings` times; then it waits as long as it takes, or until close()).
  explicit PreviewRing(gpu::Context& ctx, int slots = 8, double stall_s = 2.0, int max_stall_rings = 8)
      : ctx_(ctx), slots_(slots), drawn_by_(size_t(slots), 0), stall_s_(stall_s), max_stall_rings_(max_stall_rings) {}
  // The next slot of `bytes` (thread-safe), once the frames that drew it are done. A larger preview than the ring was
  // made for makes a new ring; every old ring is kept until the viewer ends (frames may still draw from it).
  gpu::Slice next(uint64_t bytes);
  pipeline::PreviewSlot provider() { return [this](uint64_t bytes) { return next(bytes); }; }

  // The timeline semaphore frame n signals with n when its commands are done (Window::frames_timeline).
  void follow_frames(VkSemaphore timeline) { timeline_ = timeline; }
  // `slot` may be drawn by frame `frame` (the one being built). Call it where the run's state is copied, under the
  // run's lock (RunSettings::preview_taken).
  void taken(const gpu::Slice& slot, uint64_t frame);
  // No more frames will come: next() stops waiting for frames (the run is being stopped or the window closes).
  void close() { closed_ = true; }
  void open() { closed_ = false; }

 private:
  int index_of(const gpu::Slice& s) const;  // -1: not a slot of the ring in use
  void new_ring(uint64_t slot_bytes);        // under mu_
  // True once frame `frame` is done (or the ring is closed); false when `bounded` and stall_s passed first.
  bool wait_frame(uint64_t frame, bool bounded) const;

  gpu::Context& ctx_;
  int slots_;
  std::mutex mu_;
  std::vector<gpu::Arena> rings_;  // the last one is in use
  gpu::Slice all_;                 // its slots
  std::vector<uint64_t> drawn_by_;  // per slot: the last frame that may draw it (0: none)
  uint64_t slot_bytes_ = 0;
  int next_ = 0;
  VkSemaphore timeline_ = VK_NULL_HANDLE;
  std::atomic<bool> closed_{false};
  double stall_s_;
  int max_stall_rings_, stall_rings_ = 0;
};

}  // namespace ezivk::viewer
