#include "engine/ops/geglu.h"

#include <gtest/gtest.h>

#include "tests/ops/dtype_params.h"

namespace ezivk::test {
namespace {

class GegluTest : public GpuTest,
                  public ::testing::WithParamInterface<std::tuple<std::pair<int64_t, int64_t>, DType>> {};

void check_geglu(gpu::Context& ctx, int64_t rows, int64_t d, DType dt) {
  gpu::Arena arena(ctx, "geglu", 8 << 20, gpu::MemoryUse::Device);
  Guarded x(ctx, arena, size_t(rows * 2 * d), dt), y(ctx, arena, size_t(rows * d), dt);
  const auto xv = quantize(random_floats(size_t(rows * 2 * d), uint32_t(rows * 31 + d), -5.f, 5.f), dt);
  x.upload(xv);
  gpu::Recorder rec(ctx);
  ops::geglu(ctx, rec, x.tensor({rows, 2 * d}), y.tensor({rows, d}));
  rec.submit_and_wait();
  EXPECT_LE(normalized_error(y.download(), quantize(ops::geglu_ref(xv, rows, d), dt)), tolerance(dt));
  EXPECT_TRUE(y.guards_intact());
  EXPECT_TRUE(x.guards_intact());
}

TEST_P(GegluTest, MatchesReferenceWithGuards) {
  const auto [shape, dt] = GetParam();
  EZIVK_SKIP_WITHOUT_DTYPE(dt);
  check_geglu(ctx(), shape.first, shape.second, dt);
}

// Against a 16 KiB storage-buffer range: runs of rows, one dispatch each, at offsets that are not binding-aligned.
TEST_P(GegluTest, RowRunsMatchReference) {
  const auto [shape, dt] = GetParam();
  EZIVK_SKIP_WITHOUT_DTYPE(dt);
  check_geglu(small_range_context(), shape.first, shape.second, dt);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GegluTest,
    ::testing::Combine(::testing::Values(std::pair<int64_t, int64_t>{1, 1}, std::pair<int64_t, int64_t>{3, 5},
                                         std::pair<int64_t, int64_t>{7, 33}, std::pair<int64_t, int64_t>{64, 256},
                                         std::pair<int64_t, int64_t>{77, 1280}),
                       ::testing::Values(DType::F32, DType::F16)),
    [](const auto& info) {
      const auto& shape = std::get<0>(info.param);
      return "r" + std::to_string(shape.first) + "_d" + std::to_string(shape.second) + "_" +
             dtype_name(std::get<1>(info.param));
    });

using GegluErrors = GpuTest;

TEST_F(GegluErrors, NameTheOpAndTheArgument) {
  gpu::Arena arena(ctx(), "geglu_errors", 1 << 20, gpu::MemoryUse::Device);
  Guarded x(ctx(), arena, 24, DType::F32), y(ctx(), arena, 12, DType::F32);
  gpu::Recorder rec(ctx());
  expect_error([&] { ops::geglu(ctx(), rec, x.tensor({8, 3}), y.tensor({8, 1})); }, {"geglu", "x", "even"});
  expect_error([&] { ops::geglu(ctx(), rec, x.tensor({4, 6}), y.tensor({4, 2})); }, {"geglu", "y"});
  expect_error([&] { ops::geglu(ctx(), rec, x.tensor({4, 6}), x.tensor({4, 3})); }, {"geglu", "y", "x"});
  EXPECT_EQ(rec.dispatch_count(), 0u);
}

}  // namespace
}  // namespace ezivk::test
