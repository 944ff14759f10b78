#include <gtest/gtest.h>

#include <cmath>

#include "engine/util/error.h"
#include "engine/sched/euler.h"
#include "sched/sched_fixture.h"

namespace ezivk::sched {
namespace {

using testing::load_fixture;
using testing::sd2_config;

TEST(EulerScheduler, GridsSigmasAndInitNoiseMatchReference) {
  testing::check_grids(SchedulerKind::Euler, load_fixture("euler.json"));
}

TEST(EulerScheduler, TrajectoriesMatchReference) {
  testing::check_trajectories(SchedulerKind::Euler, load_fixture("euler.json"));
}

TEST(EulerScheduler, CoefficientsApplyLikeAKernel) {
  testing::check_kernel_style(SchedulerKind::Euler, load_fixture("euler.json"));
}

TEST(EulerScheduler, AddNoiseMatchesReference) { testing::check_add_noise(SchedulerKind::Euler, load_fixture("euler.json")); }

TEST(EulerScheduler, DefaultSpacingIsLinspaceWithFractionalTimesteps) {
  EulerScheduler s(SchedulerConfig::from_json(sd2_config(), "sd2"));
  s.set_timesteps(7);
  // linspace(0, 999, 7) = 0, 166.5, 333, 499.5, ... kept fractional (no rounding for Euler).
  EXPECT_EQ(s.timesteps()[0], 999.0f);
  EXPECT_EQ(s.timesteps()[1], 832.5f);
  EXPECT_EQ(s.timesteps()[3], 499.5f);
  EXPECT_EQ(s.sigmas().back(), 0.0f);
  // σ_max = √((1−ᾱ_999)/ᾱ_999) from the formula in double.
  double p = 1;
  for (int k = 0; k < 1000; ++k) p *= 1 - std::pow(std::sqrt(0.00085) + (std::sqrt(0.012) - std::sqrt(0.00085)) * k / 999.0, 2);
  EXPECT_NEAR(s.init_noise_sigma(), std::sqrt((1 - p) / p), 2e-5);
  // Epsilon: x_next = x + ε·(σ_next − σ).
  const StepCoefficients c = s.step_coefficients(2);
  const double dt = static_cast<double>(s.sigmas()[3]) - s.sigmas()[2];
  EXPECT_NEAR(c.sample + c.x0 * c.x0_sample, 1.0, 1e-12);
  EXPECT_NEAR(c.model_output + c.x0 * c.x0_model_output, dt, 1e-6);
}

TEST(EulerScheduler, AddNoiseNeedsAScheduleTimestep) {
  EulerScheduler s(SchedulerConfig::from_json(sd2_config(), "sd2"));
  s.set_timesteps(7);
  const std::vector<float> v(2, 1.0f);
  EXPECT_THROW(s.add_noise(v, v, 500.0f), Error);
  EXPECT_NO_THROW(s.add_noise(v, v, 499.5f));
}

TEST(EulerScheduler, RejectsUnimplementedSigmaOptions) {
  for (const char* key : {"use_exponential_sigmas", "use_beta_sigmas"}) {
    auto j = sd2_config();
    j[key] = true;
    EXPECT_THROW(EulerScheduler(SchedulerConfig::from_json(j, "cfg")), Error) << key;
  }
  auto j = sd2_config();
  j["interpolation_type"] = "log_linear";
  EXPECT_THROW(EulerScheduler(SchedulerConfig::from_json(j, "cfg")), Error);
  j = sd2_config();
  j["sigma_max"] = 10.0;
  EXPECT_THROW(EulerScheduler(SchedulerConfig::from_json(j, "cfg")), Error);
}

}  // namespace
}  // namespace ezivk::sched
