// Context::upload / download: synchronous host<->device copies. Host-visible slices are copied directly;
// device-local ones go through a reusable staging arena in chunks, one thread at a time (the arena and the command
// pool the copies are recorded from are the context's).
#include <cstring>

#include "engine/gpu/context.h"
#include "engine/gpu/error.h"
#include "engine/gpu/one_shot.h"

namespace ezivk::gpu {
namespace {

constexpr uint64_t kStagingBytes = 64ull << 20;

void check_range(const Slice& s, uint64_t bytes, const char* what) {
  if (bytes > s.size)
    fail(std::string(what) + " of " + std::to_string(bytes) + " bytes does not fit a slice of " + std::to_string(s.size) + " bytes");
}

void copy_via_command(Context& ctx, VkBuffer src, uint64_t src_off, VkBuffer dst, uint64_t dst_off, uint64_t n) {
  run_one_shot(ctx, ctx.command_pool(), [&](VkCommandBuffer cb) {
    // Earlier submits finished (every submit waits), so only host writes need to become visible, which
    // queue submission guarantees; after the copy the host read needs a transfer->host barrier.
    VkBufferCopy region{src_off, dst_off, n};
    vkCmdCopyBuffer(cb, src, dst, 1, &region);
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0,
                         1, &mb, 0, nullptr, 0, nullptr);
  }, "a transfer");
}

}  // namespace

void Context::upload(const Slice& dst, const void* src, uint64_t bytes) {
  check_range(dst, bytes, "upload");
  if (dst.host) {
    std::memcpy(dst.host, src, bytes);
    return;
  }
  std::lock_guard lock(transfer_mu_);
  if (!staging_) staging_ = std::make_unique<Arena>(*this, "staging", kStagingBytes, MemoryUse::Upload);
  const auto* p = static_cast<const std::byte*>(src);
  for (uint64_t done = 0; done < bytes;) {
    const uint64_t n = std::min(kStagingBytes, bytes - done);
    staging_->reset();
    Slice s = staging_->alloc(n);
    std::memcpy(s.host, p + done, n);
    copy_via_command(*this, s.buffer, s.offset, dst.buffer, dst.offset + done, n);
    done += n;
  }
}

void Context::download(const Slice& src, void* dst, uint64_t bytes) {
  check_range(src, bytes, "download");
  if (src.host) {
    // Every submit waits for completion; the barrier at the end of each recorded batch made writes host-visible.
    std::memcpy(dst, src.host, bytes);
    return;
  }
  std::lock_guard lock(transfer_mu_);
  if (!staging_) staging_ = std::make_unique<Arena>(*this, "staging", kStagingBytes, MemoryUse::Upload);
  auto* p = static_cast<std::byte*>(dst);
  for (uint64_t done = 0; done < bytes;) {
    const uint64_t n = std::min(kStagingBytes, bytes - done);
    staging_->reset();
    Slice s = staging_->alloc(n);
    copy_via_command(*this, src.buffer, src.offset + done, s.buffer, s.offset, n);
    std::memcpy(p + done, s.host, n);
    done += n;
  }
}

}  // namespace ezivk::gpu
