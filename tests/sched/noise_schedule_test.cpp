#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "engine/sched/noise_schedule.h"
#include "sched/sched_fixture.h"

namespace ezivk::sched {
namespace {

int32_t ulp_distance(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  return std::abs(ia - ib);
}

TEST(NoiseSchedule, BetasAndAlphasCumprodMatchTorch) {
  const auto doc = testing::load_fixture("schedule.json");
  ASSERT_EQ(doc["schedules"].size(), 3u);
  for (const auto& sch : doc["schedules"]) {
    const SchedulerConfig cfg = testing::config_of(sch["config"]);
    const auto betas = make_betas(cfg.beta_schedule, cfg.beta_start, cfg.beta_end, cfg.num_train_timesteps);
    const auto want_b = testing::floats(sch["betas"]);
    ASSERT_EQ(betas.size(), want_b.size());
    // torch builds differ in the last bit of linspace (see torch_linspace_f32), which squaring doubles for
    // scaled_linear; the cosine schedule is float64 math rounded once and must match exactly.
    const int32_t max_ulp = cfg.beta_schedule == BetaSchedule::SquaredCosCapV2 ? 0
                            : cfg.beta_schedule == BetaSchedule::ScaledLinear ? 3
                                                                               : 1;
    for (size_t k = 0; k < betas.size(); ++k) EXPECT_LE(ulp_distance(betas[k], want_b[k]), max_ulp) << sch["config"] << k;
    const auto ac = cumulative_alphas(betas);
    testing::expect_close(ac, testing::floats(sch["alphas_cumprod"]), 1e-6, "alphas_cumprod " + sch["config"].dump(), 0.0);
  }
}

// ᾱ_0 and ᾱ_999 of Stable Diffusion's scaled_linear schedule, from the formula in double.
TEST(NoiseSchedule, StableDiffusionAlphasCumprodByHand) {
  const auto betas = make_betas(BetaSchedule::ScaledLinear, 0.00085, 0.012, 1000);
  const auto ac = cumulative_alphas(betas);
  double prod = 1;
  for (int i = 0; i < 1000; ++i) {
    const double b = std::pow(std::sqrt(0.00085) + (std::sqrt(0.012) - std::sqrt(0.00085)) * i / 999.0, 2);
    prod *= 1 - b;
  }
  EXPECT_NEAR(ac[0], 1 - 0.00085, 1e-7);
  EXPECT_NEAR(ac[999], prod, 1e-6 * prod);
}

TEST(NoiseSchedule, NumpyRoundingIsHalfToEven) {
  EXPECT_EQ(np_round(0.5), 0.0);
  EXPECT_EQ(np_round(1.5), 2.0);
  EXPECT_EQ(np_round(2.5), 2.0);
  EXPECT_EQ(np_round(166.5), 166.0);
  EXPECT_EQ(np_round(499.5), 500.0);
  EXPECT_EQ(np_round(-0.5), -0.0);
}

TEST(NoiseSchedule, NumpyLinspaceAndArange) {
  const auto l = np_linspace(0, 999, 7);
  ASSERT_EQ(l.size(), 7u);
  EXPECT_EQ(l[1], 166.5);
  EXPECT_EQ(l[6], 999.0);
  EXPECT_EQ(np_linspace(3, 9, 1), std::vector<double>{3.0});
  const auto a = np_arange(1000, 0, -1000.0 / 7);
  ASSERT_EQ(a.size(), 7u);
  EXPECT_EQ(a[0], 1000.0);
  EXPECT_NEAR(a[6], 1000 - 6 * 1000.0 / 7, 1e-9);
  EXPECT_TRUE(np_arange(0, 0, 1).empty());
}

TEST(NoiseSchedule, InterpAndSigmaToTInvertEachOther) {
  const std::vector<float> fp = {1.0f, 2.0f, 4.0f, 8.0f};
  EXPECT_EQ(np_interp(0.0, fp), 1.0);
  EXPECT_EQ(np_interp(1.5, fp), 3.0);
  EXPECT_EQ(np_interp(3.0, fp), 8.0);
  EXPECT_EQ(np_interp(7.0, fp), 8.0);
  EXPECT_EQ(np_interp(-1.0, fp), 1.0);
  const auto logs = log_f32(fp);
  EXPECT_NEAR(sigma_to_t(2.0, logs), 1.0, 1e-6);
  EXPECT_NEAR(sigma_to_t(std::sqrt(8.0), logs), 1.5, 1e-6);  // halfway between 2 and 4 in log σ
  EXPECT_EQ(sigma_to_t(0.5, logs), 0.0);                       // below the table: clipped
  EXPECT_EQ(sigma_to_t(100.0, logs), 3.0);
}

TEST(NoiseSchedule, KarrasEndsAtTheGivenSigmas) {
  const auto k = karras_sigmas(0.03, 14.6, 10);
  ASSERT_EQ(k.size(), 10u);
  EXPECT_NEAR(k.front(), 14.6, 1e-12);
  EXPECT_NEAR(k.back(), 0.03, 1e-12);
  const double mid = std::pow(std::pow(14.6, 1 / 7.0) + 0.5 * (std::pow(0.03, 1 / 7.0) - std::pow(14.6, 1 / 7.0)), 7.0);
  const auto k3 = karras_sigmas(0.03, 14.6, 3);
  EXPECT_NEAR(k3[1], mid, 1e-12);
}

TEST(NoiseSchedule, DescendingGrids) {
  EXPECT_EQ(descending_grid(TimestepSpacing::Leading, 1000, 4, 1), (std::vector<int64_t>{751, 501, 251, 1}));
  EXPECT_EQ(descending_grid(TimestepSpacing::Linspace, 1000, 4, 1), (std::vector<int64_t>{999, 666, 333, 0}));
  EXPECT_EQ(descending_grid(TimestepSpacing::Trailing, 1000, 4, 1), (std::vector<int64_t>{999, 749, 499, 249}));
}

}  // namespace
}  // namespace ezivk::sched
