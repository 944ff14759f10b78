#include "engine/gpu/recorder.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "engine/gpu/command_pool.h"
#include "engine/gpu/context.h"
#include "engine/gpu/error.h"

namespace ezivk::gpu {
namespace {
constexpr uint32_t kSetsPerPool = 256;
constexpr uint32_t kBuffersPerPool = kSetsPerPool * 8;
constexpr uint32_t kMaxQueries = 8192;  // two per dispatch; later dispatches in a huge batch go untimed
}  // namespace

uint32_t adapt_piece_size(uint32_t current, double measured_ms, double target_ms) {
  const double ratio = std::clamp(target_ms / std::max(measured_ms, 1e-3), 0.5, 2.0);
  const double next = std::round(double(std::max(current, 1u)) * ratio);
  return uint32_t(std::clamp(next, double(kMinPiece), double(kMaxPiece)));
}

Recorder::Recorder(Context& ctx, bool timing)
    : ctx_(ctx), submit_every_(ctx.submit_every()), piece_target_ms_(ctx.piece_ms()) {
  VkDevice dev = ctx.device();
  // A pool of its own: command pools are externally synchronised, and recorders run on different threads (the
  // viewer's generation thread and its UI thread).
  pool_ = make_command_pool(dev, ctx.queue_family(), "a recorder");
  cb_ = allocate_command_buffer(dev, pool_.get(), "a recorder");
  VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VkFence f;
  vk_check(vkCreateFence(dev, &fi, nullptr, &f), "creating a fence");
  fence_ = Handle<VkFence>(f, [dev](VkFence h) { vkDestroyFence(dev, h, nullptr); });
  timing_ = timing && ctx.caps().timestamp_valid_bits > 0 && ctx.caps().timestamp_period_ns > 0;
  if (timing_) {
    VkQueryPoolCreateInfo qi{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
    qi.queryCount = kMaxQueries;
    VkQueryPool qp;
    vk_check(vkCreateQueryPool(dev, &qi, nullptr, &qp), "creating a timestamp query pool");
    queries_ = Handle<VkQueryPool>(qp, [dev](VkQueryPool q) { vkDestroyQueryPool(dev, q, nullptr); });
  }
  begin();
}

Recorder::~Recorder() {
  if (!settle_pending()) {
    // Work from a timed-out submit still runs: leaking its objects is safer than freeing them under it.
    std::fprintf(stderr, "ezivk: warning: GPU work still running at shutdown; leaking its command buffer\n");
    for (auto& p : pools_) p.release();
    pool_.release();
    fence_.release();
    queries_.release();
    return;
  }
  pools_.clear();
  // Destroying the pool frees its command buffer.
}

bool Recorder::settle_pending() {
  if (!pending_) return true;
  VkFence f = fence_.get();
  const double t = ctx_.submit_timeout_s();
  const uint64_t ns = t >= 1e9 ? UINT64_MAX : uint64_t(t * 1e9);
  if (vkWaitForFences(ctx_.device(), 1, &f, VK_TRUE, ns) != VK_SUCCESS) return false;
  pending_ = false;
  return true;
}

void Recorder::begin() {
  if (!settle_pending()) fail("the previous GPU submit of this recorder is still running");
  vk_check(vkResetCommandBuffer(cb_, 0), "resetting a command buffer");
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  vk_check(vkBeginCommandBuffer(cb_, &bi), "beginning a command buffer");
  for (auto& p : pools_) vk_check(vkResetDescriptorPool(ctx_.device(), p.get(), 0), "resetting a descriptor pool");
  if (!pools_.empty()) pools_.resize(1);
  sets_in_pool_ = 0;
  if (timing_) vkCmdResetQueryPool(cb_, queries_.get(), 0, kMaxQueries);
  query_count_ = 0;
  labels_.clear();
  pending_commands_ = 0;
  pending_reads_.clear();
  pending_writes_.clear();
  recording_ = true;
}

VkDescriptorSet Recorder::allocate_set(VkDescriptorSetLayout layout) {
  VkDevice dev = ctx_.device();
  if (pools_.empty() || sets_in_pool_ == kSetsPerPool) {
    VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kBuffersPerPool};
    VkDescriptorPoolCreateInfo pi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    pi.maxSets = kSetsPerPool;
    pi.poolSizeCount = 1;
    pi.pPoolSizes = &size;
    VkDescriptorPool pool;
    vk_check(vkCreateDescriptorPool(dev, &pi, nullptr, &pool), "creating a descriptor pool");
    pools_.emplace_back(pool, [dev](VkDescriptorPool p) { vkDestroyDescriptorPool(dev, p, nullptr); });
    sets_in_pool_ = 0;
  }
  VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  ai.descriptorPool = pools_.back().get();
  ai.descriptorSetCount = 1;
  ai.pSetLayouts = &layout;
  VkDescriptorSet set;
  vk_check(vkAllocateDescriptorSets(dev, &ai, &set), "allocating a descriptor set");
  ++sets_in_pool_;
  return set;
}

void Recorder::barrier() {
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                     VK_ACCESS_TRANSFER_WRITE_BIT;
  const VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  vkCmdPipelineBarrier(cb_, stages, stages, 0, 1, &mb, 0, nullptr, 0, nullptr);
  pending_reads_.clear();
  pending_writes_.clear();
  ++barriers_;
}

void Recorder::hazard_check(std::span<const Bind> binds) {
  auto hits = [](const std::vector<Slice>& list, const Slice& s) {
    return std::any_of(list.begin(), list.end(), [&](const Slice& o) { return o.overlaps(s); });
  };
  bool need = false;
  for (const Bind& b : binds) {
    const bool writes = b.access != Access::Read;
    // RAW and WAW against earlier writes; WAR against earlier reads.
    if (hits(pending_writes_, b.slice) || (writes && hits(pending_reads_, b.slice))) need = true;
  }
  if (need && auto_barriers_) barrier();
  for (const Bind& b : binds) {
    if (b.access != Access::Write) pending_reads_.push_back(b.slice);
    if (b.access != Access::Read) pending_writes_.push_back(b.slice);
  }
}

void Recorder::dispatch(const Pipeline& p, std::span<const Bind> binds, const void* push, uint32_t push_bytes, uint32_t gx,
                        uint32_t gy, uint32_t gz, std::string_view label) {
  if (!recording_) begin();
  const std::string name = label.empty() ? p.name() : std::string(label);
  const auto& caps = ctx_.caps();
  if (gx == 0 || gy == 0 || gz == 0) fail("dispatch '" + name + "' has an empty grid");
  if (gx > caps.max_workgroup_count[0] || gy > caps.max_workgroup_count[1] || gz > caps.max_workgroup_count[2])
    fail("dispatch '" + name + "' asks for " + std::to_string(gx) + "x" + std::to_string(gy) + "x" + std::to_string(gz) +
         " workgroups, beyond the device's limit of " + std::to_string(caps.max_workgroup_count[0]) + "x" +
         std::to_string(caps.max_workgroup_count[1]) + "x" + std::to_string(caps.max_workgroup_count[2]));
  if (binds.size() != p.binding_count())
    fail("dispatch '" + name + "' binds " + std::to_string(binds.size()) + " buffers; shader " + p.name() + " declares " +
         std::to_string(p.binding_count()));
  if (push_bytes != p.interface().push_constant_bytes)
    fail("dispatch '" + name + "' pushes " + std::to_string(push_bytes) + " bytes of constants; shader " + p.name() +
         " declares " + std::to_string(p.interface().push_constant_bytes));

  VkDescriptorSet set = allocate_set(p.set_layout());
  std::vector<VkDescriptorBufferInfo> infos(binds.size());
  std::vector<VkWriteDescriptorSet> writes;
  for (uint32_t b : p.interface().storage_bindings) {
    const Slice& s = binds[b].slice;
    if (!s) fail("dispatch '" + name + "': binding " + std::to_string(b) + " is empty");
    if (s.size > caps.max_storage_buffer_range)
      fail("dispatch '" + name + "': binding " + std::to_string(b) + " spans " + format_bytes(s.size) +
           ", over the device's storage-buffer range of " + format_bytes(caps.max_storage_buffer_range));
    if (s.offset % ctx_.caps().min_storage_offset_alignment)
      fail("dispatch '" + name + "': binding " + std::to_string(b) + " starts at byte " + std::to_string(s.offset) +
           ", not a multiple of the device's storage-buffer alignment " + std::to_string(caps.min_storage_offset_alignment) +
           " (bind the aligned slice and pass an element offset)");
    infos[b] = {s.buffer, s.offset, s.size};
    VkWriteDescriptorSet w{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    w.dstSet = set;
    w.dstBinding = b;
    w.descriptorCount = 1;
    w.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    w.pBufferInfo = &infos[b];
    writes.push_back(w);
  }
  vkUpdateDescriptorSets(ctx_.device(), uint32_t(writes.size()), writes.data(), 0, nullptr);

  hazard_check(binds);
  vkCmdBindPipeline(cb_, VK_PIPELINE_BIND_POINT_COMPUTE, p.pipeline());
  vkCmdBindDescriptorSets(cb_, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout(), 0, 1, &set, 0, nullptr);
  if (push_bytes) vkCmdPushConstants(cb_, p.layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
  const bool timed = timing_ && query_count_ + 2 <= kMaxQueries;
  if (timed) vkCmdWriteTimestamp(cb_, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, queries_.get(), query_count_++);
  vkCmdDispatch(cb_, gx, gy, gz);
  if (timed) {
    vkCmdWriteTimestamp(cb_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_.get(), query_count_++);
    labels_.push_back(name);
  }
  ++dispatches_;
  after_command();
}

void Recorder::copy(const Slice& src, const Slice& dst, uint64_t bytes) {
  if (!recording_) begin();
  if (bytes > src.size || bytes > dst.size) fail("recorded copy of " + std::to_string(bytes) + " bytes exceeds a slice");
  Bind b[2] = {{src.sub(0, bytes), Access::Read}, {dst.sub(0, bytes), Access::Write}};
  hazard_check(b);
  VkBufferCopy region{src.offset, dst.offset, bytes};
  vkCmdCopyBuffer(cb_, src.buffer, dst.buffer, 1, &region);
  after_command();
}

void Recorder::order_after_earlier_submissions() {
  if (!recording_) begin();
  vkCmdPipelineBarrier(cb_, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0, nullptr, 0, nullptr,
                       0, nullptr);
  ++barriers_;
}

void Recorder::fill(const Slice& dst, uint32_t value) {
  if (!recording_) begin();
  if (dst.size % 4) fail("fill needs a slice whose size is a multiple of 4 bytes");
  Bind b[1] = {{dst, Access::Write}};
  hazard_check(b);
  vkCmdFillBuffer(cb_, dst.buffer, dst.offset, dst.size, value);
  after_command();
}

void Recorder::submit_and_wait() {
  flush();
  timings_ = std::move(chunk_timings_);
  chunk_timings_.clear();
}

void Recorder::after_command() {
  ++pending_commands_;
  if (submit_every_ && pending_commands_ >= submit_every_) {
    const auto start = std::chrono::steady_clock::now();
    flush();
    if (piece_target_ms_ > 0)
      submit_every_ = adapt_piece_size(
          submit_every_, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count(),
          piece_target_ms_);
    if (after_piece_) after_piece_();
  }
}

void Recorder::flush() {
  if (!recording_) begin();
  // Make every write visible to the host (direct reads of mapped memory), to later transfers and to the compute
  // work of later submits (a denoising loop reads in step i+1 what step i wrote; the fence wait alone orders them
  // in time but is no memory dependency between two device submits).
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT |
                     VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
  vkCmdPipelineBarrier(cb_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                       0, 1, &mb, 0, nullptr, 0, nullptr);
  vk_check(vkEndCommandBuffer(cb_), "ending a command buffer");
  recording_ = false;
  VkFence f = fence_.get();
  vk_check(vkResetFences(ctx_.device(), 1, &f), "resetting a fence");
  ctx_.submit(cb_, f);  // throws with nothing pending when the queue refuses the work
  pending_ = true;
  ++submits_;
  ctx_.wait(f, ctx_.submit_timeout_s());
  pending_ = false;

  if (timing_ && query_count_ > 0) {
    std::vector<uint64_t> ts(query_count_);
    vk_check(vkGetQueryPoolResults(ctx_.device(), queries_.get(), 0, query_count_, ts.size() * 8, ts.data(), 8,
                                   VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
             "reading timestamps");
    const uint32_t bits = ctx_.caps().timestamp_valid_bits;
    const uint64_t mask = bits >= 64 ? ~0ull : ((1ull << bits) - 1);
    for (size_t i = 0; i < labels_.size(); ++i) {
      const uint64_t d = (ts[2 * i + 1] - ts[2 * i]) & mask;
      chunk_timings_.push_back({labels_[i], d * double(ctx_.caps().timestamp_period_ns) * 1e-6});
    }
  }
  begin();
}

}  // namespace ezivk::gpu
