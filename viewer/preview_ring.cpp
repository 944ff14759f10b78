#include "viewer/preview_ring.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "engine/gpu/error.h"

namespace ezivk::viewer {

int PreviewRing::index_of(const gpu::Slice& s) const {
  if (slot_bytes_ == 0 || s.buffer != all_.buffer || s.offset < all_.offset) return -1;
  const uint64_t i = (s.offset - all_.offset) / slot_bytes_;
  return i < uint64_t(slots_) ? int(i) : -1;
}

void PreviewRing::taken(const gpu::Slice& slot, uint64_t frame) {
  std::lock_guard lock(mu_);
  const int i = index_of(slot);
  if (i >= 0) drawn_by_[size_t(i)] = std::max(drawn_by_[size_t(i)], frame);
}

void PreviewRing::new_ring(uint64_t slot_bytes) {
  slot_bytes_ = slot_bytes;
  rings_.emplace_back(ctx_, "viewer preview ring", slot_bytes_ * uint64_t(slots_), gpu::MemoryUse::Device);
  all_ = rings_.back().alloc(slot_bytes_ * uint64_t(slots_), 256);
  std::fill(drawn_by_.begin(), drawn_by_.end(), 0);
  next_ = 0;
}

bool PreviewRing::wait_frame(uint64_t frame, bool bounded) const {
  // In short waits, so a run being stopped (close) never hangs on a frame the closing window will not draw.
  const auto start = std::chrono::steady_clock::now();
  VkSemaphoreWaitInfo wi{VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO};
  wi.semaphoreCount = 1;
  wi.pSemaphores = &timeline_;
  wi.pValues = &frame;
  while (!closed_) {
    const VkResult r = vkWaitSemaphores(ctx_.device(), &wi, 50'000'000);
    if (r == VK_SUCCESS) return true;
    if (r != VK_TIMEOUT) vk_check(r, "waiting for the frames that draw a preview slot");
    if (bounded && std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > stall_s_) return false;
  }
  return true;
}

gpu::Slice PreviewRing::next(uint64_t bytes) {
  for (;;) {
    uint64_t wait_for = 0;
    gpu::Slice s;
    bool bounded = false;
    {
      std::lock_guard lock(mu_);
      if (bytes > slot_bytes_) new_ring((bytes + 255) / 256 * 256);
      s = all_.sub(slot_bytes_ * uint64_t(next_), bytes);
      wait_for = std::exchange(drawn_by_[size_t(next_)], 0);
      next_ = (next_ + 1) % slots_;
      bounded = stall_rings_ < max_stall_rings_;
    }
    if (wait_for == 0 || timeline_ == VK_NULL_HANDLE || wait_frame(wait_for, bounded)) return s;
    // The window has not finished that frame in stall_s (its presentation blocked while hidden, say): rather than
    // hold the run, its previews move to a fresh ring no frame draws yet, the old one kept alive for that frame. A few
    // times at most; after that the run waits, so a window stalled for good cannot take memory step after step.
    std::lock_guard lock(mu_);
    ++stall_rings_;
    new_ring(slot_bytes_);
  }
}

}  // namespace ezivk::viewer
