#include "engine/ops/group_norm.h"

#include <gtest/gtest.h>

#include "tests/ops/dtype_params.h"

namespace ezivk::test {
namespace {

struct GnCase {
  const char* name;
  std::vector<int64_t> shape;  // [B, C, ...]
  uint32_t groups;
  float offset;  // added to every input: a large one proves the statistics do not cancel catastrophically
  bool silu;
};
void PrintTo(const GnCase& c, std::ostream* os) { *os << c.name; }  // readable failure messages

class GroupNormTest : public GpuTest, public ::testing::WithParamInterface<std::tuple<GnCase, DType>> {};

TEST_P(GroupNormTest, MatchesReferenceWithGuards) {
  const auto& [c, dt] = GetParam();
  EZIVK_SKIP_WITHOUT_DTYPE(dt);
  ops::Tensor shape_only{{}, dt, c.shape};
  const int64_t n = shape_only.numel(), batch = c.shape[0], channels = c.shape[1], spatial = n / (batch * channels);
  gpu::Arena arena(ctx(), "group_norm", 8 << 20, gpu::MemoryUse::Device);
  Guarded x(ctx(), arena, size_t(n), dt), y(ctx(), arena, size_t(n), dt);
  Guarded gamma(ctx(), arena, size_t(channels), DType::F32), beta(ctx(), arena, size_t(channels), DType::F32);
  auto xv = random_floats(size_t(n), uint32_t(n * 3 + channels));
  for (auto& v : xv) v += c.offset;
  xv = quantize(xv, dt);
  const auto gv = random_floats(size_t(channels), 11, 0.5f, 1.5f), bv = random_floats(size_t(channels), 12);
  x.upload(xv);
  gamma.upload(gv);
  beta.upload(bv);

  gpu::Recorder rec(ctx());
  ops::group_norm(ctx(), rec, x.tensor(c.shape), gamma.tensor({channels}), beta.tensor({channels}), y.tensor(c.shape),
                  c.groups, 1e-5f, c.silu);
  rec.submit_and_wait();

  const auto want = quantize(ops::group_norm_ref(xv, gv, bv, batch, channels, spatial, c.groups, 1e-5f, c.silu), dt);
  EXPECT_LE(normalized_error(y.download(), want), tolerance(dt));
  EXPECT_TRUE(y.guards_intact());
  EXPECT_TRUE(x.guards_intact());
}

const GnCase kCases[] = {
    {"odd", {1, 6, 5, 7}, 3, 0.f, false},
    {"odd_silu", {2, 9, 3, 11}, 3, 0.f, true},
    {"rank3", {2, 12, 33}, 4, 0.f, false},
    {"rank5", {1, 8, 2, 3, 5}, 2, 0.f, true},
    {"one_value_per_group", {3, 8, 1}, 8, 0.f, false},
    {"group_larger_than_workgroup", {1, 4, 300}, 1, 0.f, false},
    {"aligned", {2, 64, 16, 16}, 32, 0.f, false},
    {"sd_320ch_silu", {1, 320, 8, 8}, 32, 0.f, true},
    {"offset_1000", {2, 32, 9, 13}, 8, 1000.f, false},
    {"offset_1000_large_group", {1, 8, 64, 64}, 2, 1000.f, true},
};

INSTANTIATE_TEST_SUITE_P(Shapes, GroupNormTest,
                         ::testing::Combine(::testing::ValuesIn(kCases), ::testing::Values(DType::F32, DType::F16)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).name) + "_" + dtype_name(std::get<1>(info.param));
                         });

using GroupNormErrors = GpuTest;

TEST_F(GroupNormErrors, NameTheOpAndTheArgument) {
  gpu::Arena arena(ctx(), "group_norm_errors", 1 << 20, gpu::MemoryUse::Device);
  Guarded x(ctx(), arena, 6 * 10, DType::F32), y(ctx(), arena, 6 * 10, DType::F32);
  Guarded g(ctx(), arena, 6, DType::F32), b(ctx(), arena, 6, DType::F32), g16(ctx(), arena, 6, DType::F16);
  gpu::Recorder rec(ctx());
  const auto X = x.tensor({1, 6, 10}), Y = y.tensor({1, 6, 10}), G = g.tensor({6}), B = b.tensor({6});
  expect_error([&] { ops::group_norm(ctx(), rec, X, G, B, Y, 4, 1e-5f); }, {"group_norm", "groups"});
  expect_error([&] { ops::group_norm(ctx(), rec, X, g.tensor({5}), B, Y, 3, 1e-5f); }, {"group_norm", "gamma"});
  expect_error([&] { ops::group_norm(ctx(), rec, X, G, B, Y, 3, 0.f); }, {"group_norm", "eps"});
  expect_error(
      [&] {
        ops::group_norm(ctx(), rec, x.tensor({6, 10}), G, B, y.tensor({6, 10}), 3, 1e-5f);
      },
      {"group_norm", "x"});
  expect_error([&] { ops::group_norm(ctx(), rec, X, G, B, y.tensor({1, 6, 5, 2}), 3, 1e-5f); }, {"group_norm", "y"});
  expect_error([&] { ops::group_norm(ctx(), rec, X, G, B, X, 3, 1e-5f); }, {"group_norm", "y", "x"});
  if (ctx().fp16())
    expect_error([&] { ops::group_norm(ctx(), rec, X, g16.tensor({6}), B, Y, 3, 1e-5f); },
                 {"group_norm", "gamma", "f32"});
  EXPECT_EQ(rec.dispatch_count(), 0u);
}

}  // namespace
}  // namespace ezivk::test
