// The suite's soak: 20 text-to-image + EZIGen generations in one process on the tiny model; from the 5th run on, the
// context's device memory must not change at all and host RSS must not grow by more than allocator noise.
#include <gtest/gtest.h>

#include "support/gpu_fixture.h"
#include "tests/models/golden.h"
#include "tools/ezivk/bench_soak.h"

namespace ezivk::test {
namespace {

using BenchSoak = GpuTest;

TEST_F(BenchSoak, MemoryStaysFlatOverTwentyGenerations) {
  gpu::ContextOptions co;
  co.validation = true;
  gpu::Context ctx(co);
  cli::SoakOptions o;
  o.model = model_dir("sd2-tiny").string();
  o.runs = 20;
  o.ezigen = true;
  const auto samples = cli::run_soak(ctx, o, [](int) { return true; });
  ASSERT_EQ(samples.size(), 20u);
  const auto& fifth = samples[4];
  for (const auto& s : samples) {
    if (s.run < 5) continue;
    EXPECT_EQ(s.device_bytes, fifth.device_bytes) << "device memory changed at run " << s.run;
  }
  const double growth_mib = (double(samples.back().rss_bytes) - double(fifth.rss_bytes)) / 1048576.0;
  EXPECT_LT(growth_mib, 4.0) << "host RSS grew " << growth_mib << " MiB from run 5 to run 20";
  EXPECT_GT(fifth.device_bytes, 0u);
  EXPECT_TRUE(ctx.validation_messages().empty());
}

}  // namespace
}  // namespace ezivk::test
