#include <gtest/gtest.h>

#include <cmath>

#include "engine/util/error.h"
#include "engine/sched/pndm.h"
#include "sched/sched_fixture.h"

namespace ezivk::sched {
namespace {

using testing::load_fixture;
using testing::sd2_config;

TEST(PNDMScheduler, PlmsCallsTheModelOnceMoreThanSteps) {
  PNDMScheduler s(SchedulerConfig::from_json(sd2_config(), "sd2"));
  s.set_timesteps(50);
  ASSERT_EQ(s.num_steps(), 51);
  EXPECT_EQ(s.timesteps()[0], 981.0f);
  EXPECT_EQ(s.timesteps()[1], 961.0f);
  EXPECT_EQ(s.timesteps()[2], 961.0f);
  EXPECT_EQ(s.timesteps()[3], 941.0f);
  EXPECT_EQ(s.timesteps()[50], 1.0f);
  EXPECT_EQ(s.history_slots(), 5);
}

TEST(PNDMScheduler, GridsMatchReference) { testing::check_grids(SchedulerKind::PNDM, load_fixture("pndm.json")); }

TEST(PNDMScheduler, TrajectoriesMatchReference) {
  testing::check_trajectories(SchedulerKind::PNDM, load_fixture("pndm.json"));
}

TEST(PNDMScheduler, CoefficientsApplyLikeAKernel) {
  testing::check_kernel_style(SchedulerKind::PNDM, load_fixture("pndm.json"));
}

TEST(PNDMScheduler, AddNoiseMatchesReference) { testing::check_add_noise(SchedulerKind::PNDM, load_fixture("pndm.json")); }

// Step 1 restarts from the sample kept at step 0 with the mean of both model outputs, stepping 981 → 961.
TEST(PNDMScheduler, SecondCallCorrectsTheFirstStep) {
  PNDMScheduler s(SchedulerConfig::from_json(sd2_config(), "sd2"));
  s.set_timesteps(50);
  const StepCoefficients c0 = s.step_coefficients(0);
  const StepCoefficients c1 = s.step_coefficients(1);
  EXPECT_EQ(c1.sample, 0.0);             // the current sample is dropped
  EXPECT_NE(c1.history[4], 0.0);         // the kept one is used instead
  EXPECT_DOUBLE_EQ(c1.history[0], c1.model_output);  // (m + ets[0]) / 2
  // Same transfer 981 → 961 as step 0, half the weight on each model output.
  EXPECT_DOUBLE_EQ(c1.history[4], c0.sample);
  EXPECT_DOUBLE_EQ(2 * c1.model_output, c0.model_output);
  // Step 5 uses the four-term Adams–Bashforth weights.
  const StepCoefficients c5 = s.step_coefficients(5);
  double sum = c5.model_output;
  for (int k = 0; k < 4; ++k) sum += c5.history[static_cast<size_t>(k)];
  EXPECT_NEAR(c5.model_output / sum, 55.0 / 24, 1e-12);
}

TEST(PNDMScheduler, RejectsPrkStepsAndSamplePrediction) {
  auto j = sd2_config();
  j.erase("skip_prk_steps");
  try {
    PNDMScheduler s(SchedulerConfig::from_json(j, "folder/scheduler_config.json"));
    FAIL() << "PRK accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("skip_prk_steps"), std::string::npos) << e.what();
  }
  j = sd2_config();
  j["prediction_type"] = "sample";
  EXPECT_THROW(PNDMScheduler(SchedulerConfig::from_json(j, "cfg")), Error);
}

}  // namespace
}  // namespace ezivk::sched
