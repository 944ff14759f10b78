#include "viewer/preview_ring.h"

namespace ezivk::viewer {

gpu::Slice PreviewRing::next(uint64_t bytes) {
  std::lock_guard lock(mu_);
  if (bytes > slot_bytes_) {
    slot_bytes_ = (bytes + 255) / 256 * 256;
    rings_.emplace_back(ctx_, "viewer preview ring", slot_bytes_ * uint64_t(slots_), gpu::MemoryUse::Device);
    next_ = 0;
  }
  gpu::Arena& a = rings_.back();
  a.reset();
  const gpu::Slice all = a.alloc(slot_bytes_ * uint64_t(slots_), 256);
  const gpu::Slice s = all.sub(slot_bytes_ * uint64_t(next_), bytes);
  next_ = (next_ + 1) % slots_;
  return s;
}

}  // namespace ezivk::viewer
