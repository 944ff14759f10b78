#include <gtest/gtest.h>

#include <cmath>

#include "engine/util/error.h"
#include "engine/sched/euler_ancestral.h"
#include "sched/sched_fixture.h"

namespace ezivk::sched {
namespace {

using testing::load_fixture;
using testing::sd2_config;

TEST(EulerAncestralScheduler, GridsMatchReference) {
  testing::check_grids(SchedulerKind::EulerAncestral, load_fixture("euler-a.json"));
}

TEST(EulerAncestralScheduler, TrajectoriesMatchReference) {
  testing::check_trajectories(SchedulerKind::EulerAncestral, load_fixture("euler-a.json"));
}

TEST(EulerAncestralScheduler, CoefficientsApplyLikeAKernel) {
  testing::check_kernel_style(SchedulerKind::EulerAncestral, load_fixture("euler-a.json"));
}

TEST(EulerAncestralScheduler, AddNoiseMatchesReference) {
  testing::check_add_noise(SchedulerKind::EulerAncestral, load_fixture("euler-a.json"));
}

TEST(EulerAncestralScheduler, NoiseSplitsTheNextSigma) {
  EulerAncestralScheduler s(SchedulerConfig::from_json(sd2_config(), "sd2"));
  s.set_timesteps(10);
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(s.needs_noise(i));
    const StepCoefficients c = s.step_coefficients(i);
    const double from = s.sigmas()[static_cast<size_t>(i)], to = s.sigmas()[static_cast<size_t>(i) + 1];
    const double up = std::sqrt(to * to * (from * from - to * to) / (from * from));
    EXPECT_NEAR(c.noise, up, 1e-5 * (up + 1e-3)) << i;
    // σ_down² + σ_up² = σ_next²: the Euler step goes to σ_down = from·(1 + dt/from).
    const double down = from + (c.sample - 1) * from;
    EXPECT_NEAR(down * down + up * up, to * to, 1e-4 * (to * to + 1e-3)) << i;
  }
  EXPECT_EQ(s.step_coefficients(9).noise, 0.0);  // final σ 0: no noise, still drawn
}

TEST(EulerAncestralScheduler, RejectsSamplePrediction) {
  auto j = sd2_config();
  j["prediction_type"] = "sample";
  EXPECT_THROW(EulerAncestralScheduler(SchedulerConfig::from_json(j, "cfg")), Error);
}

}  // namespace
}  // namespace ezivk::sched
