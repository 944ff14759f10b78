// One context used from several threads at once, as the viewer does (generation on its own thread, the UI's
// submits on the main thread). The validation layer's thread-safety checks report any queue, command pool or
// descriptor use from two threads at once, so a missing lock fails these tests even when the race is not hit.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "engine/gpu/context.h"
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

}  // namespace
}  // namespace ezivk::test
