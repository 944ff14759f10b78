// One context used from several threads at once, as the viewer does (generation on its own thread, the UI's
// submits on the main thread). The validation layer's thread-safety checks report any queue, command pool or
// descriptor use from two threads at once, so a missing lock fails these tests even when the race is not hit.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/gpu/command_pool.h"
#include "engine/gpu/context.h"
#include "engine/gpu/error.h"
#include "engine/gpu/recorder.h"
#include "engine/ops/axpb.h"
#include "engine/util/error.h"
#include "support/gpu_fixture.h"

namespace ezivk::test {
namespace {

gpu::ContextOptions validated(bool staging_only, uint32_t submit_every = 0) {
  gpu::ContextOptions o;
  o.validation = true;
  o.cache_dir = "-";
  o.staging_only = staging_only;  // every upload and download records and submits a copy of its own
  o.submit_every = submit_every;
  return o;
}

// Each thread: its own recorder and buffers; uploads, a chain of dependent dispatches, a download, checked against
// the CPU, many times over. Returns the first mismatch or error, empty when all matched.
std::string worker(gpu::Context& ctx, uint32_t seed, int rounds) {
  try {
    const size_t n = 1000 + seed;  // odd sizes, different per thread
    gpu::Arena arena(ctx, "thread " + std::to_string(seed), 1 << 20, gpu::MemoryUse::Device);
    const gpu::Slice xs = arena.alloc(n * 4), ys = arena.alloc(n * 4);
    const ops::Tensor x{xs, DType::F32, {int64_t(n)}}, y{ys, DType::F32, {int64_t(n)}};
    gpu::Recorder rec(ctx);
    for (int r = 0; r < rounds; ++r) {
      const auto xv = random_floats(n, seed * 1000 + uint32_t(r));
      ctx.upload(xs, xv.data(), n * 4);
      ops::axpb(ctx, rec, x, y, 2.f, 1.f);   // y = 2x + 1
      ops::axpb(ctx, rec, y, x, 0.5f, -3.f);  // x = y/2 - 3 = x - 2.5
      rec.submit_and_wait();
      std::vector<float> got(n);
      ctx.download(xs, got.data(), n * 4);
      for (size_t i = 0; i < n; ++i)
        if (std::abs(got[i] - (xv[i] - 2.5f)) > 1e-5f)
          return "thread " + std::to_string(seed) + " round " + std::to_string(r) + ": element " + std::to_string(i) +
                 " is " + std::to_string(got[i]) + ", expected " + std::to_string(xv[i] - 2.5f);
    }
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

void run_threads(gpu::Context& ctx, int threads, int rounds) {
  std::vector<std::string> results(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] { results[size_t(t)] = worker(ctx, uint32_t(t + 1), rounds); });
  for (auto& th : pool) th.join();
  for (const auto& r : results) EXPECT_EQ(r, "");
}

TEST(ContextThreads, RecordersOnSeveralThreadsShareOneQueue) {
  gpu::Context ctx(validated(false));
  run_threads(ctx, 3, 20);
  EXPECT_TRUE(ctx.validation_messages().empty()) << ctx.validation_messages().front();
}

TEST(ContextThreads, StagedTransfersOnSeveralThreads) {
  gpu::Context ctx(validated(true));
  run_threads(ctx, 3, 20);
  EXPECT_TRUE(ctx.validation_messages().empty()) << ctx.validation_messages().front();
}

// Every dispatch its own submit: the threads' pieces interleave on the queue as the viewer's frames and a
// generation's pieces do.
TEST(ContextThreads, SplitSubmitsOnSeveralThreads) {
  gpu::Context ctx(validated(false, 1));
  run_threads(ctx, 3, 10);
  EXPECT_TRUE(ctx.validation_messages().empty()) << ctx.validation_messages().front();
}

// The viewer's layout: generation's recorders on the engine's queue, a second thread's work (the window's frames) on
// ui_queue() under ui_queue_lock(). Where the device's family has a second queue it is a queue of its own; where it
// has one (lavapipe) it is the engine's, and the layer's thread-safety checks fail a submit that skips the lock.
TEST(ContextThreads, TheWindowsQueueBesideGeneration) {
  gpu::ContextOptions o = validated(false, 4);
  o.ui_queue = true;
  gpu::Context ctx(o);
  const auto& fam = ctx.caps().queue_families.at(ctx.queue_family());
  EXPECT_EQ(ctx.separate_ui_queue(), fam.count >= 2) << gpu::queue_family_name(fam);
  EXPECT_EQ(ctx.ui_queue() != ctx.queue(), ctx.separate_ui_queue());
  {
    auto ui = ctx.ui_queue_lock();
    std::mutex* m = ui.mutex();
    ui.unlock();
    EXPECT_EQ(ctx.queue_lock().mutex() == m, !ctx.separate_ui_queue());
  }

  std::string gen_result;
  std::thread gen([&] { gen_result = worker(ctx, 7, 10); });
  // The "frames": fills of a host-visible buffer, each submitted to the window's queue and checked.
  std::string ui_result;
  try {
    VkDevice dev = ctx.device();
    gpu::Arena arena(ctx, "frames", 4096, gpu::MemoryUse::Upload);
    const gpu::Slice s = arena.alloc(1000 * 4);
    const auto pool = gpu::make_command_pool(dev, ctx.queue_family(), "the frames");
    VkCommandBuffer cb = gpu::allocate_command_buffer(dev, pool.get(), "the frames");
    VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkFence f;
    vk_check(vkCreateFence(dev, &fi, nullptr, &f), "the frames");
    gpu::Handle<VkFence> fence(f, [dev](VkFence x) { vkDestroyFence(dev, x, nullptr); });
    for (uint32_t frame = 1; frame <= 40 && ui_result.empty(); ++frame) {
      VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
      bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
      vkBeginCommandBuffer(cb, &bi);
      vkCmdFillBuffer(cb, s.buffer, s.offset, s.size, frame * 2654435761u);
      VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
      mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
      mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
      vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
      vkEndCommandBuffer(cb);
      VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
      si.commandBufferCount = 1;
      si.pCommandBuffers = &cb;
      {
        const auto lock = ctx.ui_queue_lock();
        vk_check(vkQueueSubmit(ctx.ui_queue(), 1, &si, f), "the frames");
      }
      vk_check(vkWaitForFences(dev, 1, &f, VK_TRUE, UINT64_MAX), "the frames");
      vkResetFences(dev, 1, &f);
      const auto* v = reinterpret_cast<const uint32_t*>(s.host);
      for (size_t i = 0; i < 1000; ++i)
        if (v[i] != frame * 2654435761u) {
          ui_result = "frame " + std::to_string(frame) + ": word " + std::to_string(i) + " not filled";
          break;
        }
    }
  } catch (const std::exception& e) {
    ui_result = e.what();
  }
  gen.join();
  EXPECT_EQ(gen_result, "");
  EXPECT_EQ(ui_result, "");
  EXPECT_TRUE(ctx.validation_messages().empty()) << ctx.validation_messages().front();
}

}  // namespace
}  // namespace ezivk::test
