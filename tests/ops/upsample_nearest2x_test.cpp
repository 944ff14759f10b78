#include "engine/ops/upsample_nearest2x.h"

#include <gtest/gtest.h>

#include "tests/ops/dtype_params.h"

namespace ezivk::test {
namespace {

class UpsampleNearest2xTest : public GpuTest,
                              public ::testing::WithParamInterface<std::tuple<std::vector<int64_t>, DType>> {};

TEST_P(UpsampleNearest2xTest, MatchesReferenceWithGuards) {
  const auto& [s, dt] = GetParam();
  EZIVK_SKIP_WITHOUT_DTYPE(dt);
  const int64_t n = s[0] * s[1] * s[2] * s[3];
  gpu::Arena arena(ctx(), "upsample", 8 << 20, gpu::MemoryUse::Device);
  Guarded x(ctx(), arena, size_t(n), dt), y(ctx(), arena, size_t(4 * n), dt);
  const auto xv = quantize(random_floats(size_t(n), uint32_t(n + 5)), dt);
  x.upload(xv);
  gpu::Recorder rec(ctx());
  ops::upsample_nearest2x(ctx(), rec, x.tensor(s), y.tensor({s[0], s[1], 2 * s[2], 2 * s[3]}));
  rec.submit_and_wait();
  // A copy: exact in both dtypes.
  EXPECT_EQ(y.download(), ops::upsample_nearest2x_ref(xv, s[0] * s[1], s[2], s[3]));
  EXPECT_TRUE(y.guards_intact());
  EXPECT_TRUE(x.guards_intact());
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, UpsampleNearest2xTest,
    ::testing::Combine(::testing::Values(std::vector<int64_t>{1, 1, 1, 1}, std::vector<int64_t>{2, 3, 5, 7},
                                         std::vector<int64_t>{1, 3, 1, 9}, std::vector<int64_t>{2, 64, 16, 16},
                                         std::vector<int64_t>{1, 4, 32, 32}),
                       ::testing::Values(DType::F32, DType::F16)),
    [](const auto& info) {
      const auto& s = std::get<0>(info.param);
      return "s" + std::to_string(s[0]) + "x" + std::to_string(s[1]) + "x" + std::to_string(s[2]) + "x" +
             std::to_string(s[3]) + "_" + dtype_name(std::get<1>(info.param));
    });

using UpsampleNearest2xErrors = GpuTest;

TEST_F(UpsampleNearest2xErrors, NameTheOpAndTheArgument) {
  gpu::Arena arena(ctx(), "upsample_errors", 1 << 20, gpu::MemoryUse::Device);
  Guarded x(ctx(), arena, 12, DType::F32), y(ctx(), arena, 48, DType::F32);
  gpu::Recorder rec(ctx());
  expect_error(
      [&] {
        ops::upsample_nearest2x(ctx(), rec, x.tensor({3, 4}), y.tensor({6, 8}));
      },
      {"upsample_nearest2x", "x"});
  expect_error(
      [&] {
        ops::upsample_nearest2x(ctx(), rec, x.tensor({1, 1, 3, 4}), y.tensor({1, 1, 6, 7}));
      },
      {"upsample_nearest2x", "y"});
  EXPECT_EQ(rec.dispatch_count(), 0u);
}

}  // namespace
}  // namespace ezivk::test
