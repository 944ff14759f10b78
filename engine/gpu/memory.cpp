#include "engine/gpu/memory.h"

#include <cstdio>

#include "engine/gpu/context.h"
#include "engine/gpu/error.h"
#include "engine/util/fault_injection.h"

namespace ezivk::gpu {

std::string format_bytes(uint64_t bytes) {
  char buf[64];
  if (bytes >= (1ull << 30))
    std::snprintf(buf, sizeof buf, "%.2f GiB", bytes / double(1ull << 30));
  else if (bytes >= (1ull << 20))
    std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / double(1ull << 20));
  else if (bytes >= 1024)
    std::snprintf(buf, sizeof buf, "%.1f KiB", bytes / 1024.0);
  else
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  return buf;
}

Slice Slice::sub(uint64_t off, uint64_t bytes) const {
  if (off > size || bytes > size - off)
    fail("slice range [" + std::to_string(off) + ", +" + std::to_string(bytes) + ") is outside a slice of " +
         std::to_string(size) + " bytes");
  return {buffer, offset + off, bytes, host ? host + off : nullptr};
}

static int pick_memory_type(const VkPhysicalDeviceMemoryProperties& mp, uint32_t allowed, MemoryUse use) {
  // Candidate property sets, best first.
  VkMemoryPropertyFlags wants[3] = {};
  int n = 0;
  switch (use) {
    case MemoryUse::Device:
      wants[n++] = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
      wants[n++] = 0;
      break;
    case MemoryUse::Upload:
      wants[n++] = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
      break;
    case MemoryUse::Readback:
      wants[n++] = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
      wants[n++] = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
      break;
  }
  for (int w = 0; w < n; ++w)
    for (uint32_t i = 0; i < mp.memoryTypeCount; ++i)
      if ((allowed & (1u << i)) && (mp.memoryTypes[i].propertyFlags & wants[w]) == wants[w]) return int(i);
  return -1;
}

Arena::Arena(Context& ctx, std::string name, uint64_t capacity, MemoryUse use)
    : name_(std::move(name)), capacity_(capacity) {
  if (capacity == 0) fail("arena '" + name_ + "': capacity must be positive");
  VkDevice dev = ctx.device();
  min_align_ = std::max<uint64_t>(16, ctx.storage_alignment());

  const auto& caps = ctx.caps();
  if (caps.max_allocation_size && capacity > caps.max_allocation_size)
    fail("cannot allocate arena '" + name_ + "' of " + format_bytes(capacity) + ": the device allows at most " +
         format_bytes(caps.max_allocation_size) + " in one allocation");

  VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bi.size = capacity;
  bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VkBuffer buf = VK_NULL_HANDLE;
  vk_check(vkCreateBuffer(dev, &bi, nullptr, &buf), ("creating the buffer of arena '" + name_ + "'").c_str());
  buffer_ = Handle<VkBuffer>(buf, [dev](VkBuffer b) { vkDestroyBuffer(dev, b, nullptr); });

  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(dev, buf, &req);
  VkPhysicalDeviceMemoryProperties mp;
  vkGetPhysicalDeviceMemoryProperties(ctx.physical(), &mp);
  int type = pick_memory_type(mp, req.memoryTypeBits, use);
  if (type < 0) fail("arena '" + name_ + "': the device has no memory type fit for this use");
  const uint32_t heap = mp.memoryTypes[type].heapIndex;
  const uint64_t heap_size = mp.memoryHeaps[heap].size;
  if (req.size > heap_size)
    fail("cannot allocate arena '" + name_ + "' of " + format_bytes(req.size) + ": memory heap " + std::to_string(heap) +
         " holds only " + format_bytes(heap_size));

  VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = uint32_t(type);
  VkDeviceMemory mem = VK_NULL_HANDLE;
  VkResult r = faults::should_fail(faults::Kind::Alloc) ? VK_ERROR_OUT_OF_DEVICE_MEMORY
                                                         : vkAllocateMemory(dev, &ai, nullptr, &mem);
  if (r != VK_SUCCESS)
    fail("allocating " + format_bytes(req.size) + " for arena '" + name_ + "' failed: " + vk_result_name(r) +
         " (memory heap " + std::to_string(heap) + " holds " + format_bytes(heap_size) + ")");
  const uint64_t held = req.size;
  ctx.note_device_memory(int64_t(held));
  memory_ = Handle<VkDeviceMemory>(mem, [dev, held, c = &ctx](VkDeviceMemory m) {
    vkFreeMemory(dev, m, nullptr);
    c->note_device_memory(-int64_t(held));
  });
  vk_check(vkBindBufferMemory(dev, buf, mem, 0), "binding arena memory");

  const auto flags = mp.memoryTypes[type].propertyFlags;
  const bool coherent = (flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) != 0;
  const bool map = (flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) &&
                   (use != MemoryUse::Device || (coherent && !ctx.staging_only()));
  if (map) {
    void* p = nullptr;
    vk_check(vkMapMemory(dev, mem, 0, VK_WHOLE_SIZE, 0, &p), ("mapping arena '" + name_ + "'").c_str());
    mapped_ = static_cast<std::byte*>(p);
  }
}

Slice Arena::alloc(uint64_t bytes, uint64_t align) {
  if (align == 0) align = min_align_;
  if (align & (align - 1)) fail("arena '" + name_ + "': alignment " + std::to_string(align) + " is not a power of two");
  if (bytes == 0) bytes = 4;  // a zero-size descriptor range is invalid; keep every slice bindable
  const uint64_t start = (used_ + align - 1) & ~(align - 1);
  if (start > capacity_ || bytes > capacity_ - start)
    fail("arena '" + name_ + "' is out of space: asked " + format_bytes(bytes) + " with " +
         format_bytes(capacity_ - std::min(start, capacity_)) + " of " + format_bytes(capacity_) + " free");
  used_ = start + bytes;
  peak_ = std::max(peak_, used_);
  return {buffer_.get(), start, bytes, mapped_ ? mapped_ + start : nullptr};
}

void Arena::reset(uint64_t mark) {
  if (mark > used_) fail("arena '" + name_ + "': reset to a mark past the current use");
  used_ = mark;
}

}  // namespace ezivk::gpu
