#include "viewer/preview_ring.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "engine/gpu/error.h"
#include "engine/util/error.h"

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

gpu::Slice PreviewRing::next(uint64_t bytes) {
  uint64_t wait_for = 0;
  int index = 0;
  gpu::Slice s;
  {
    std::lock_guard lock(mu_);
    if (bytes > slot_bytes_) {
      slot_bytes_ = (bytes + 255) / 256 * 256;
      rings_.emplace_back(ctx_, "viewer preview ring", slot_bytes_ * uint64_t(slots_), gpu::MemoryUse::Device);
      all_ = rings_.back().alloc(slot_bytes_ * uint64_t(slots_), 256);
      std::fill(drawn_by_.begin(), drawn_by_.end(), 0);
      next_ = 0;
    }
    index = next_;
    s = all_.sub(slot_bytes_ * uint64_t(next_), bytes);
    wait_for = std::exchange(drawn_by_[size_t(next_)], 0);
    next_ = (next_ + 1) % slots_;
  }
  if (wait_for == 0 || timeline_ == VK_NULL_HANDLE) return s;
  // In short waits, so a run being stopped (close) never hangs on a frame the closing window will not draw.
  const auto start = std::chrono::steady_clock::now();
  VkSemaphoreWaitInfo wi{VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO};
  wi.semaphoreCount = 1;
  wi.pSemaphores = &timeline_;
  wi.pValues = &wait_for;
  while (!closed_) {
    const VkResult r = vkWaitSemaphores(ctx_.device(), &wi, 50'000'000);
    if (r == VK_SUCCESS) break;
    if (r != VK_TIMEOUT) vk_check(r, "waiting for the frames that draw a preview slot");
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > ctx_.submit_timeout_s())
      fail("preview slot " + std::to_string(index) + " was still drawn by frame " + std::to_string(wait_for) + " after " +
           std::to_string(ctx_.submit_timeout_s()) + " s");
  }
  return s;
}

}  // namespace ezivk::viewer
