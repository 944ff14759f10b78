#pragma once
// Device memory: a few large allocations (arenas) handed out as slices of one VkBuffer each.
// Weights, activations and staging each get an arena; activations are reused by mark()/reset().
#include <cstddef>
#include <cstdint>
#include <string>
#include <vulkan/vulkan.h>

#include "engine/gpu/handle.h"

namespace ezivk::gpu {

class Context;

// A byte range of an arena's buffer. `host` is non-null when the memory is mapped.
struct Slice {
  VkBuffer buffer = VK_NULL_HANDLE;
  uint64_t offset = 0;
  uint64_t size = 0;
  std::byte* host = nullptr;

  Slice sub(uint64_t off, uint64_t bytes) const;  // bounds-checked
  bool overlaps(const Slice& o) const {
    return buffer == o.buffer && offset < o.offset + o.size && o.offset < offset + size;
  }
  explicit operator bool() const { return buffer != VK_NULL_HANDLE; }
};

enum class MemoryUse {
  Device,    // device-local, for weights and activations
  Upload,    // host-visible and coherent, written by the host
  Readback,  // host-visible, preferably cached, read by the host
};

class Arena {
 public:
  Arena() = default;
  // Allocates `capacity` bytes at once; fails with an Error naming the arena, the size and the heap.
  Arena(Context& ctx, std::string name, uint64_t capacity, MemoryUse use);
  Arena(Arena&&) noexcept = default;
  Arena& operator=(Arena&&) noexcept = default;

  // Bump allocation; `align` 0 means the device's storage-buffer offset alignment.
  Slice alloc(uint64_t bytes, uint64_t align = 0);
  uint64_t mark() const { return used_; }
  void reset(uint64_t mark = 0);

  const std::string& name() const { return name_; }
  uint64_t capacity() const { return capacity_; }
  uint64_t used() const { return used_; }
  uint64_t peak() const { return peak_; }
  bool host_visible() const { return mapped_ != nullptr; }
  VkDeviceMemory memory() const { return memory_.get(); }

 private:
  std::string name_;
  uint64_t capacity_ = 0, used_ = 0, peak_ = 0, min_align_ = 16;
  Handle<VkDeviceMemory> memory_;
  Handle<VkBuffer> buffer_;
  std::byte* mapped_ = nullptr;
};

std::string format_bytes(uint64_t bytes);

}  // namespace ezivk::gpu
