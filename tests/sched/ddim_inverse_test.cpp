#include <gtest/gtest.h>

#include <cmath>

#include "engine/util/error.h"
#include "engine/sched/ddim_inverse.h"
#include "sched/sched_fixture.h"

namespace ezivk::sched {
namespace {

using testing::load_fixture;
using testing::sd2_config;

TEST(DDIMInverseScheduler, GridsMatchReference) {
  testing::check_grids(SchedulerKind::DDIMInverse, load_fixture("ddim-inverse.json"));
}

TEST(DDIMInverseScheduler, TrajectoriesMatchReference) {
  testing::check_trajectories(SchedulerKind::DDIMInverse, load_fixture("ddim-inverse.json"));
}

TEST(DDIMInverseScheduler, CoefficientsApplyLikeAKernel) {
  testing::check_kernel_style(SchedulerKind::DDIMInverse, load_fixture("ddim-inverse.json"));
}

TEST(DDIMInverseScheduler, AddNoiseMatchesReference) {
  testing::check_add_noise(SchedulerKind::DDIMInverse, load_fixture("ddim-inverse.json"));
}

// The spec's inversion: x_t = √ᾱ_t·(x_s − √(1−ᾱ_s)ε)/√ᾱ_s + √(1−ᾱ_t)·ε, ascending, ε predicted at t.
TEST(DDIMInverseScheduler, StepMatchesTheSpecFormula) {
  DDIMInverseScheduler s(SchedulerConfig::from_json(sd2_config(), "sd2"));
  s.set_timesteps(50);
  EXPECT_EQ(s.timesteps().front(), 1.0f);
  EXPECT_EQ(s.timesteps().back(), 981.0f);
  auto abar = [](int upto) {
    double p = 1;
    for (int k = 0; k <= upto; ++k) p *= 1 - std::pow(std::sqrt(0.00085) + (std::sqrt(0.012) - std::sqrt(0.00085)) * k / 999.0, 2);
    return p;
  };
  for (int i : {0, 1, 30}) {
    const int t = 1 + 20 * i, from = t - 20;
    const double a_t = abar(t), a_s = from >= 0 ? abar(from) : abar(0);
    const double A = std::sqrt(a_t) / std::sqrt(a_s);
    const double B = -std::sqrt(a_t) * std::sqrt(1 - a_s) / std::sqrt(a_s) + std::sqrt(1 - a_t);
    const StepCoefficients c = s.step_coefficients(i);
    EXPECT_NEAR(c.sample + c.x0 * c.x0_sample, A, 1e-6) << i;
    EXPECT_NEAR(c.model_output + c.x0 * c.x0_model_output, B, 1e-6) << i;
  }
}

TEST(DDIMInverseScheduler, RejectsLinspaceSpacing) {
  auto j = sd2_config();
  j["timestep_spacing"] = "linspace";
  EXPECT_THROW(DDIMInverseScheduler(SchedulerConfig::from_json(j, "cfg")), Error);
}

}  // namespace
}  // namespace ezivk::sched
