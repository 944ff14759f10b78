// Not tests: timings of SD-sized attention, run with --gtest_also_run_disabled_tests
// --gtest_filter='*AttentionBench*'. EZIVK_BENCH_ITERS sets the repetitions (default 3); the best is kept.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "engine/ops/attention.h"
#include "engine/util/half.h"
#include "support/gpu_fixture.h"

namespace ezivk::test {
namespace {

using AttentionBench = GpuTest;

void bench(gpu::Context& ctx, DType dt, int64_t batch, int64_t heads, int64_t d, int64_t nq, int64_t nk1, int64_t nk2) {
  const int64_t hd = heads * d;
  gpu::Arena arena(ctx, "attention bench", 512ull << 20, gpu::MemoryUse::Device);
  auto make = [&](int64_t n) {
    const auto s = arena.alloc(uint64_t(batch * n * hd) * dtype_bytes(dt));
    const auto v = random_floats(size_t(batch * n * hd), uint32_t(n));
    if (dt == DType::F32) {
      ctx.upload(s, v.data(), s.size);
    } else {
      std::vector<uint16_t> h(v.size());
      for (size_t i = 0; i < h.size(); ++i) h[i] = float_to_half(v[i]);
      ctx.upload(s, h.data(), s.size);
    }
    return ops::Tensor{s, dt, {batch, n, hd}};
  };
  ops::AttentionArgs a;
  a.heads = int(heads);
  a.q = make(nq), a.k1 = make(nk1), a.v1 = make(nk1), a.out = make(nq);
  if (nk2) a.k2 = make(nk2), a.v2 = make(nk2);
  gpu::Recorder rec(ctx);  // wall clock: lavapipe's timestamps around a dispatch are not reliable
  const char* env = std::getenv("EZIVK_BENCH_ITERS");
  const int iters = env ? std::max(1, std::atoi(env)) : 3;
  double best = 1e30, best_cpu = 1e30;
  for (int i = 0; i < iters + 1; ++i) {  // the first run builds the pipeline
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    ops::attention(ctx, rec, a);
    rec.submit_and_wait();
    if (i == 0) continue;
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    best_cpu = std::min(best_cpu, double(std::clock() - c0) * 1000.0 / CLOCKS_PER_SEC);
  }
  const double gflop = 4.0 * double(batch * heads * nq * (nk1 + nk2) * d) * 1e-9;
  std::printf("attention %s B=%lld H=%lld D=%lld Nq=%lld Nk=%lld+%lld on %s: %.2f ms (%.1f GFLOP/s), process CPU %.2f ms\n",
              dtype_name(dt), (long long)batch, (long long)heads, (long long)d, (long long)nq, (long long)nk1,
              (long long)nk2, ctx.caps().name.c_str(), best, gflop / best * 1e3, best_cpu);
}

TEST_F(AttentionBench, DISABLED_Sd1024) {
  bench(ctx(), DType::F32, 1, 5, 64, 1024, 1024, 0);
  bench(ctx(), DType::F16, 1, 5, 64, 1024, 1024, 0);
}

TEST_F(AttentionBench, DISABLED_Sd4096WithSubject) { bench(ctx(), DType::F16, 2, 5, 64, 4096, 4096, 4096); }

TEST_F(AttentionBench, DISABLED_Vae4096) { bench(ctx(), DType::F16, 1, 1, 512, 4096, 4096, 0); }

}  // namespace
}  // namespace ezivk::test
