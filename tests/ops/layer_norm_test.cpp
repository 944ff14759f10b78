#include "engine/ops/layer_norm.h"

#include <gtest/gtest.h>

#include "tests/ops/dtype_params.h"

namespace ezivk::test {
namespace {

struct LnCase {
  const char* name;
  int64_t rows, cols;
  float offset;  // added to every input: a large one proves the statistics do not cancel catastrophically
};
void PrintTo(const LnCase& c, std::ostream* os) { *os << c.name; }  // readable failure messages

class LayerNormTest : public GpuTest, public ::testing::WithParamInterface<std::tuple<LnCase, DType>> {};

TEST_P(LayerNormTest, MatchesReferenceWithGuards) {
  const auto& [c, dt] = GetParam();
  EZIVK_SKIP_WITHOUT_DTYPE(dt);
  const size_t n = size_t(c.rows * c.cols);
  gpu::Arena arena(ctx(), "layer_norm", 8 << 20, gpu::MemoryUse::Device);
  Guarded x(ctx(), arena, n, dt), y(ctx(), arena, n, dt);
  Guarded gamma(ctx(), arena, size_t(c.cols), DType::F32), beta(ctx(), arena, size_t(c.cols), DType::F32);
  auto xv = random_floats(n, uint32_t(n + 17), -2.f, 2.f);
  for (auto& v : xv) v += c.offset;
  xv = quantize(xv, dt);
  const auto gv = random_floats(size_t(c.cols), 21, 0.5f, 1.5f), bv = random_floats(size_t(c.cols), 22);
  x.upload(xv);
  gamma.upload(gv);
  beta.upload(bv);

  gpu::Recorder rec(ctx());
  ops::layer_norm(ctx(), rec, x.tensor({c.rows, c.cols}), gamma.tensor({c.cols}), beta.tensor({c.cols}),
                  y.tensor({c.rows, c.cols}), 1e-5f);
  rec.submit_and_wait();

  const auto want = quantize(ops::layer_norm_ref(xv, gv, bv, c.rows, c.cols, 1e-5f), dt);
  EXPECT_LE(normalized_error(y.download(), want), tolerance(dt));
  EXPECT_TRUE(y.guards_intact());
  EXPECT_TRUE(x.guards_intact());
}

const LnCase kCases[] = {
    {"one_element", 3, 1, 0.f},
    {"odd", 5, 37, 0.f},
    {"wider_than_workgroup", 3, 301, 0.f},
    {"clip_1024", 4, 1024, 0.f},
    {"sd_320", 77, 320, 0.f},
    {"offset_1000", 6, 333, 1000.f},
    {"offset_1000_aligned", 8, 1280, 1000.f},
};

INSTANTIATE_TEST_SUITE_P(Shapes, LayerNormTest,
                         ::testing::Combine(::testing::ValuesIn(kCases), ::testing::Values(DType::F32, DType::F16)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).name) + "_" + dtype_name(std::get<1>(info.param));
                         });

using LayerNormErrors = GpuTest;

TEST_F(LayerNormErrors, NameTheOpAndTheArgument) {
  gpu::Arena arena(ctx(), "layer_norm_errors", 1 << 20, gpu::MemoryUse::Device);
  Guarded x(ctx(), arena, 4 * 8, DType::F32), y(ctx(), arena, 4 * 8, DType::F32);
  Guarded g(ctx(), arena, 8, DType::F32), b(ctx(), arena, 8, DType::F32);
  gpu::Recorder rec(ctx());
  const auto X = x.tensor({4, 8}), Y = y.tensor({4, 8}), G = g.tensor({8}), B = b.tensor({8});
  expect_error([&] { ops::layer_norm(ctx(), rec, X, g.tensor({4}), B, Y, 1e-5f); }, {"layer_norm", "gamma"});
  expect_error([&] { ops::layer_norm(ctx(), rec, X, G, b.tensor({2, 4}), Y, 1e-5f); }, {"layer_norm", "beta"});
  expect_error([&] { ops::layer_norm(ctx(), rec, X, G, B, y.tensor({8, 4}), 1e-5f); }, {"layer_norm", "y"});
  expect_error([&] { ops::layer_norm(ctx(), rec, X, G, B, X, 1e-5f); }, {"layer_norm", "y", "x"});
  expect_error([&] { ops::layer_norm(ctx(), rec, x.tensor({4, 9}), G, B, Y, 1e-5f); }, {"layer_norm", "x"});
  EXPECT_EQ(rec.dispatch_count(), 0u);
}

}  // namespace
}  // namespace ezivk::test
