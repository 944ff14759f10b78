#include <gtest/gtest.h>

#include <cmath>

#include "engine/util/error.h"
#include "engine/sched/ddpm.h"
#include "sched/sched_fixture.h"

namespace ezivk::sched {
namespace {

using testing::load_fixture;
using testing::sd2_config;

TEST(DDPMScheduler, GridsMatchReferenceIncluding1000Steps) {
  testing::check_grids(SchedulerKind::DDPM, load_fixture("ddpm.json"));
}

TEST(DDPMScheduler, TrajectoriesMatchReference) {
  testing::check_trajectories(SchedulerKind::DDPM, load_fixture("ddpm.json"));
}

TEST(DDPMScheduler, CoefficientsApplyLikeAKernel) {
  testing::check_kernel_style(SchedulerKind::DDPM, load_fixture("ddpm.json"));
}

TEST(DDPMScheduler, AddNoiseMatchesReference) { testing::check_add_noise(SchedulerKind::DDPM, load_fixture("ddpm.json")); }

// The posterior mean and variance written out in double for one step of a 10-step leading schedule.
TEST(DDPMScheduler, StepMatchesThePosteriorFormula) {
  auto j = sd2_config();
  DDPMScheduler s(SchedulerConfig::from_json(j, "sd2"));
  s.set_timesteps(10);
  ASSERT_EQ(s.timesteps()[2], 701.0f);
  ASSERT_EQ(s.timesteps()[3], 601.0f);
  auto abar = [](int upto) {
    double p = 1;
    for (int k = 0; k <= upto; ++k) p *= 1 - std::pow(std::sqrt(0.00085) + (std::sqrt(0.012) - std::sqrt(0.00085)) * k / 999.0, 2);
    return p;
  };
  const double a_t = abar(701), a_p = abar(601);
  const double beta_t = 1 - a_t / a_p;
  // μ = √ᾱp·β_t/(1−ᾱt)·x̂0 + √(α_t)·(1−ᾱp)/(1−ᾱt)·x, x̂0 = (x − √(1−ᾱt)ε)/√ᾱt
  const double c0 = std::sqrt(a_p) * beta_t / (1 - a_t);
  const double c1 = std::sqrt(a_t / a_p) * (1 - a_p) / (1 - a_t);
  const double A = c1 + c0 / std::sqrt(a_t);
  const double B = -c0 * std::sqrt(1 - a_t) / std::sqrt(a_t);
  const double sigma = std::sqrt((1 - a_p) / (1 - a_t) * beta_t);
  const StepCoefficients c = s.step_coefficients(2);
  EXPECT_NEAR(c.sample + c.x0 * c.x0_sample, A, 1e-6);
  EXPECT_NEAR(c.model_output + c.x0 * c.x0_model_output, B, 1e-6);
  EXPECT_NEAR(c.noise, sigma, 1e-6);
}

TEST(DDPMScheduler, NoNoiseAtTimestepZero) {
  auto j = sd2_config();
  j["steps_offset"] = 0;
  DDPMScheduler s(SchedulerConfig::from_json(j, "cfg"));
  s.set_timesteps(10);
  EXPECT_EQ(s.timesteps().back(), 0.0f);
  EXPECT_FALSE(s.needs_noise(9));
  EXPECT_EQ(s.step_coefficients(9).noise, 0.0);
  EXPECT_TRUE(s.needs_noise(8));
  // The last step (prev = −1 → ᾱ_prev = 1) lands on x̂0.
  const StepCoefficients c = s.step_coefficients(9);
  EXPECT_NEAR(c.x0, 1.0, 1e-6);
  EXPECT_NEAR(c.sample, 0.0, 1e-6);
  const std::vector<float> v(3, 0.5f);
  EXPECT_THROW(s.step(0, v, v, nullptr), Error);  // step 0 needs noise
}

TEST(DDPMScheduler, RejectsUnimplementedVarianceTypes) {
  for (const char* v : {"learned", "learned_range", "fixed_large_log"}) {
    auto j = sd2_config();
    j["variance_type"] = v;
    EXPECT_THROW(DDPMScheduler(SchedulerConfig::from_json(j, "cfg")), Error) << v;
  }
  auto j = sd2_config();
  j["variance_type"] = "something_else";
  EXPECT_THROW(SchedulerConfig::from_json(j, "cfg"), Error);
}

}  // namespace
}  // namespace ezivk::sched
