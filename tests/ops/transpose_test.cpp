#include "engine/ops/transpose.h"

#include <gtest/gtest.h>

#include "tests/ops/dtype_params.h"

namespace ezivk::test {
namespace {

class TransposeTest : public GpuTest, public ::testing::WithParamInterface<std::tuple<std::vector<int64_t>, DType>> {};

TEST_P(TransposeTest, MatchesReferenceWithGuards) {
  const auto& [s, dt] = GetParam();
  EZIVK_SKIP_WITHOUT_DTYPE(dt);
  const int64_t n = s[0] * s[1] * s[2];
  gpu::Arena arena(ctx(), "transpose", 8 << 20, gpu::MemoryUse::Device);
  Guarded x(ctx(), arena, size_t(n), dt), y(ctx(), arena, size_t(n), dt);
  const auto xv = quantize(random_floats(size_t(n), uint32_t(n + 11)), dt);
  x.upload(xv);
  gpu::Recorder rec(ctx());
  ops::transpose(ctx(), rec, x.tensor(s), y.tensor({s[0], s[2], s[1]}));
  rec.submit_and_wait();
  // A permutation: exact in both dtypes.
  EXPECT_EQ(y.download(), ops::transpose_ref(xv, s[0], s[1], s[2]));
  EXPECT_TRUE(y.guards_intact());
  EXPECT_TRUE(x.guards_intact());
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, TransposeTest,
    ::testing::Combine(::testing::Values(std::vector<int64_t>{1, 1, 1}, std::vector<int64_t>{2, 5, 7},
                                         std::vector<int64_t>{1, 16, 16}, std::vector<int64_t>{3, 33, 17},
                                         std::vector<int64_t>{2, 320, 64}, std::vector<int64_t>{1, 1, 40}),
                       ::testing::Values(DType::F32, DType::F16)),
    [](const auto& info) {
      const auto& s = std::get<0>(info.param);
      return "s" + std::to_string(s[0]) + "x" + std::to_string(s[1]) + "x" + std::to_string(s[2]) + "_" +
             dtype_name(std::get<1>(info.param));
    });

using TransposeErrors = GpuTest;

TEST_F(TransposeErrors, NameTheOpAndTheArgument) {
  gpu::Arena arena(ctx(), "transpose_errors", 1 << 20, gpu::MemoryUse::Device);
  Guarded x(ctx(), arena, 12, DType::F32), y(ctx(), arena, 12, DType::F32);
  gpu::Recorder rec(ctx());
  expect_error([&] { ops::transpose(ctx(), rec, x.tensor({12}), y.tensor({12})); }, {"transpose", "x"});
  expect_error([&] { ops::transpose(ctx(), rec, x.tensor({1, 3, 4}), y.tensor({1, 3, 4})); }, {"transpose", "y"});
  EXPECT_EQ(rec.dispatch_count(), 0u);
}

}  // namespace
}  // namespace ezivk::test
