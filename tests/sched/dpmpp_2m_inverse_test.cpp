#include <gtest/gtest.h>

#include <cmath>

#include "engine/util/error.h"
#include "engine/sched/dpmpp_2m_inverse.h"
#include "sched/sched_fixture.h"

namespace ezivk::sched {
namespace {

using testing::load_fixture;
using testing::sd2_config;

TEST(DPMSolverPP2MInverseScheduler, GridsSigmasMatchReference) {
  testing::check_grids(SchedulerKind::DPMSolverPP2MInverse, load_fixture("dpmpp2m-inverse.json"));
}

TEST(DPMSolverPP2MInverseScheduler, TrajectoriesMatchReference) {
  testing::check_trajectories(SchedulerKind::DPMSolverPP2MInverse, load_fixture("dpmpp2m-inverse.json"));
}

TEST(DPMSolverPP2MInverseScheduler, CoefficientsApplyLikeAKernel) {
  testing::check_kernel_style(SchedulerKind::DPMSolverPP2MInverse, load_fixture("dpmpp2m-inverse.json"));
}

TEST(DPMSolverPP2MInverseScheduler, AddNoiseMatchesReference) {
  testing::check_add_noise(SchedulerKind::DPMSolverPP2MInverse, load_fixture("dpmpp2m-inverse.json"));
}

TEST(DPMSolverPP2MInverseScheduler, AscendsToSigmaMax) {
  DPMSolverPP2MInverseScheduler s(SchedulerConfig::from_json(sd2_config(), "sd2"));
  s.set_timesteps(20);
  EXPECT_EQ(s.timesteps().front(), 0.0f);
  for (size_t k = 1; k < s.timesteps().size(); ++k) EXPECT_GT(s.timesteps()[k], s.timesteps()[k - 1]);
  double p = 1;
  for (int k = 0; k < 1000; ++k) p *= 1 - std::pow(std::sqrt(0.00085) + (std::sqrt(0.012) - std::sqrt(0.00085)) * k / 999.0, 2);
  EXPECT_NEAR(s.sigmas().back(), std::sqrt((1 - p) / p), 2e-5);
  // 20 steps: the last step stays second order (lower_order_final only below 15 steps).
  EXPECT_NE(s.step_coefficients(19).history[0], 0.0);
  s.set_timesteps(10);
  EXPECT_EQ(s.step_coefficients(9).history[0], 0.0);
}

}  // namespace
}  // namespace ezivk::sched
