#include "engine/ops/activation.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/ops/dtype_params.h"

namespace ezivk::test {
namespace {

using ops::Activation;

class ActivationTest : public GpuTest, public ::testing::WithParamInterface<std::tuple<Activation, size_t, DType>> {};

TEST_P(ActivationTest, MatchesReferenceWithGuards) {
  const auto [kind, n, dt] = GetParam();
  EZIVK_SKIP_WITHOUT_DTYPE(dt);
  gpu::Arena arena(ctx(), "activation", 4 << 20, gpu::MemoryUse::Device);
  Guarded x(ctx(), arena, n, dt), y(ctx(), arena, n, dt);
  const auto xv = quantize(random_floats(n, uint32_t(n * 5 + uint32_t(kind)), -8.f, 8.f), dt);
  x.upload(xv);
  gpu::Recorder rec(ctx());
  ops::activation(ctx(), rec, kind, x.tensor({int64_t(n)}), y.tensor({int64_t(n)}));
  rec.submit_and_wait();
  EXPECT_LE(normalized_error(y.download(), quantize(ops::activation_ref(kind, xv), dt)), tolerance(dt));
  EXPECT_TRUE(y.guards_intact());
  EXPECT_TRUE(x.guards_intact());
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, ActivationTest,
    ::testing::Combine(::testing::Values(Activation::SiLU, Activation::GELU, Activation::QuickGELU),
                       ::testing::Values(size_t(1), size_t(7), size_t(256), size_t(1000), size_t(65537)),
                       ::testing::Values(DType::F32, DType::F16)),
    [](const auto& info) {
      return std::string(ops::activation_name(std::get<0>(info.param))) + "_n" +
             std::to_string(std::get<1>(info.param)) + "_" + dtype_name(std::get<2>(info.param));
    });

using ActivationAccuracy = GpuTest;

// The erf inside GELU, value by value against std::erf across [-12, 12]: on the negative tail GELU is
// tiny (1e-32 at -12), so only an erfc with full relative accuracy passes. The bound leaves room for the
// exp error Vulkan permits (3 + 2|x| ulp).
TEST_F(ActivationAccuracy, GeluIsRelativelyAccurateOnBothTails) {
  const size_t n = 24001;
  gpu::Arena arena(ctx(), "gelu_tail", 1 << 20, gpu::MemoryUse::Device);
  Guarded x(ctx(), arena, n, DType::F32), y(ctx(), arena, n, DType::F32);
  std::vector<float> xv(n);
  for (size_t i = 0; i < n; ++i) xv[i] = -12.f + 24.f * float(i) / float(n - 1) + 1e-4f;  // never exactly zero
  x.upload(xv);
  gpu::Recorder rec(ctx());
  ops::activation(ctx(), rec, Activation::GELU, x.tensor({int64_t(n)}), y.tensor({int64_t(n)}));
  rec.submit_and_wait();
  const auto got = y.download();
  double worst = 0;
  float worst_x = 0;
  for (size_t i = 0; i < n; ++i) {
    const double want = ops::activation_ref(Activation::GELU, double(xv[i]));
    const double rel = std::fabs(got[i] - want) / std::fabs(want);
    if (rel > worst) worst = rel, worst_x = xv[i];
  }
  EXPECT_LE(worst, 2e-5) << "at x = " << worst_x;
}

using ActivationErrors = GpuTest;

TEST_F(ActivationErrors, NameTheOpAndTheArgument) {
  gpu::Arena arena(ctx(), "activation_errors", 1 << 20, gpu::MemoryUse::Device);
  Guarded x(ctx(), arena, 12, DType::F32), y(ctx(), arena, 12, DType::F32);
  gpu::Recorder rec(ctx());
  expect_error(
      [&] {
        ops::activation(ctx(), rec, Activation::SiLU, x.tensor({12}), y.tensor({3, 4}));
      },
      {"activation", "y"});
  expect_error([&] { ops::activation(ctx(), rec, Activation::SiLU, x.tensor({12}), x.tensor({12})); },
               {"activation", "y", "x"});
  expect_error([&] { ops::activation(ctx(), rec, Activation::GELU, x.tensor({13}), y.tensor({13})); },
               {"activation", "x"});
  expect_error([&] { ops::activation(ctx(), rec, Activation(7), x.tensor({12}), y.tensor({12})); },
               {"activation", "unknown"});
  EXPECT_EQ(rec.dispatch_count(), 0u);
}

}  // namespace
}  // namespace ezivk::test
