#include "engine/ops/upsample_nearest.h"

#include <gtest/gtest.h>

#include "engine/ops/upsample_nearest2x.h"
#include "tests/ops/dtype_params.h"

namespace ezivk::test {
namespace {

struct ResizeCase {
  int64_t b, c, h, w, oh, ow;
};

class UpsampleNearestTest : public GpuTest, public ::testing::WithParamInterface<std::tuple<ResizeCase, DType>> {};

TEST_P(UpsampleNearestTest, MatchesReferenceWithGuards) {
  const auto& [s, dt] = GetParam();
  EZIVK_SKIP_WITHOUT_DTYPE(dt);
  const int64_t n = s.b * s.c * s.h * s.w, on = s.b * s.c * s.oh * s.ow;
  gpu::Arena arena(ctx(), "upsample_nearest", 8 << 20, gpu::MemoryUse::Device);
  Guarded x(ctx(), arena, size_t(n), dt), y(ctx(), arena, size_t(on), dt);
  const auto xv = quantize(random_floats(size_t(n), uint32_t(n + 3)), dt);
  x.upload(xv);
  gpu::Recorder rec(ctx());
  ops::upsample_nearest(ctx(), rec, x.tensor({s.b, s.c, s.h, s.w}), y.tensor({s.b, s.c, s.oh, s.ow}));
  rec.submit_and_wait();
  EXPECT_EQ(y.download(), ops::upsample_nearest_ref(xv, s.b * s.c, s.h, s.w, s.oh, s.ow));
  EXPECT_TRUE(y.guards_intact());
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, UpsampleNearestTest,
    ::testing::Combine(::testing::Values(ResizeCase{1, 1, 1, 1, 1, 1}, ResizeCase{2, 3, 3, 2, 5, 3},  // UNet: 3 -> 5 (skip of 5)
                                         ResizeCase{1, 4, 5, 3, 10, 6}, ResizeCase{1, 2, 7, 7, 13, 14},
                                         ResizeCase{2, 8, 4, 6, 8, 12}, ResizeCase{1, 1, 3, 3, 2, 2}),
                       ::testing::Values(DType::F32, DType::F16)),
    [](const auto& info) {
      const auto& s = std::get<0>(info.param);
      return std::to_string(s.h) + "x" + std::to_string(s.w) + "_to_" + std::to_string(s.oh) + "x" + std::to_string(s.ow) +
             "_c" + std::to_string(s.c) + "_" + dtype_name(std::get<1>(info.param));
    });

// The index rule, checked independently: for exact doubling it is the 2x kernel's floor(dst / 2), and a 3 -> 5
// resize (a skip of 5 rows after a stride-2 conv gave 3) reads rows 0, 0, 1, 1, 2 as PyTorch does.
TEST(UpsampleNearestRule, MatchesPyTorchIndexing) {
  std::vector<float> x = {10, 11, 12};
  EXPECT_EQ(ops::upsample_nearest_ref(x, 1, 3, 1, 5, 1), (std::vector<float>{10, 10, 11, 11, 12}));
  const auto v = random_floats(2 * 5 * 7, 9);
  EXPECT_EQ(ops::upsample_nearest_ref(v, 2, 5, 7, 10, 14), ops::upsample_nearest2x_ref(v, 2, 5, 7));
}

}  // namespace
}  // namespace ezivk::test
