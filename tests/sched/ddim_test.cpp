#include <gtest/gtest.h>

#include <cmath>

#include "engine/util/error.h"
#include "engine/sched/ddim.h"
#include "sched/sched_fixture.h"

namespace ezivk::sched {
namespace {

using testing::config_of;
using testing::load_fixture;
using testing::sd2_config;

TEST(DDIMScheduler, StableDiffusion50StepGridIs981DownTo1) {
  DDIMScheduler s(SchedulerConfig::from_json(sd2_config(), "sd2"));
  s.set_timesteps(50);
  ASSERT_EQ(s.num_steps(), 50);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(s.timesteps()[static_cast<size_t>(i)], static_cast<float>(981 - 20 * i));
  EXPECT_EQ(s.init_noise_sigma(), 1.0);
  EXPECT_EQ(s.model_input_scale(7), 1.0);
}

TEST(DDIMScheduler, GridsMatchReference) { testing::check_grids(SchedulerKind::DDIM, load_fixture("ddim.json")); }

TEST(DDIMScheduler, TrajectoriesMatchReference) {
  testing::check_trajectories(SchedulerKind::DDIM, load_fixture("ddim.json"));
}

TEST(DDIMScheduler, CoefficientsApplyLikeAKernel) {
  testing::check_kernel_style(SchedulerKind::DDIM, load_fixture("ddim.json"));
}

TEST(DDIMScheduler, AddNoiseMatchesReference) { testing::check_add_noise(SchedulerKind::DDIM, load_fixture("ddim.json")); }

// One epsilon step against the DDIM update written out in double from the spec's formulas.
TEST(DDIMScheduler, EpsilonStepMatchesTheFormula) {
  const double eta = 0.6;
  auto cfg = SchedulerConfig::from_json(sd2_config(), "sd2");
  cfg.eta = eta;
  DDIMScheduler s(cfg);
  s.set_timesteps(50);
  for (int i : {0, 17, 49}) {
    const int t = 981 - 20 * i;
    const int prev = t - 20;
    // ᾱ from the formula, in double.
    auto abar = [](int upto) {
      double p = 1;
      for (int k = 0; k <= upto; ++k) {
        const double b = std::pow(std::sqrt(0.00085) + (std::sqrt(0.012) - std::sqrt(0.00085)) * k / 999.0, 2);
        p *= 1 - b;
      }
      return p;
    };
    const double a_t = abar(t);
    const double a_p = prev >= 0 ? abar(prev) : abar(0);  // set_alpha_to_one false: ᾱ_0
    const double sigma = eta * std::sqrt((1 - a_p) / (1 - a_t)) * std::sqrt(1 - a_t / a_p);
    // x_prev = √ᾱp·(x − √(1−ᾱt)ε)/√ᾱt + √(1−ᾱp−σ²)·ε + σz = A·x + B·ε + σz
    const double A = std::sqrt(a_p) / std::sqrt(a_t);
    const double B = -std::sqrt(a_p) * std::sqrt(1 - a_t) / std::sqrt(a_t) + std::sqrt(1 - a_p - sigma * sigma);
    const StepCoefficients c = s.step_coefficients(i);
    // The scheduler works in float32 like diffusers: 1 − ᾱ near t = 0 carries float32 cancellation, about
    // 1e-6 absolute on coefficients of order 1.
    EXPECT_NEAR(c.sample + c.x0 * c.x0_sample, A, 1e-6) << i;
    EXPECT_NEAR(c.model_output + c.x0 * c.x0_model_output, B, 1e-6) << i;
    EXPECT_NEAR(c.noise, sigma, 1e-6) << i;
    EXPECT_TRUE(s.needs_noise(i));
  }
}

TEST(DDIMScheduler, ClipSampleIsAnElementwiseClampOfX0) {
  auto j = sd2_config();
  j["clip_sample"] = true;
  j["clip_sample_range"] = 0.25;
  DDIMScheduler s(SchedulerConfig::from_json(j, "cfg"));
  s.set_timesteps(10);
  const StepCoefficients c = s.step_coefficients(3);
  EXPECT_TRUE(c.clip_x0);
  EXPECT_EQ(c.clip_range, 0.25);
  const std::vector<float> x = {5.0f, -5.0f};
  const std::vector<float> m = {0.0f, 0.0f};
  s.step(0, m, x, nullptr);
  for (float v : s.predicted_x0()) EXPECT_LE(std::fabs(v), 0.25f);
}

TEST(DDIMScheduler, DefaultsFollowDiffusersClass) {
  // No clip_sample / set_alpha_to_one / spacing in the file: DDIM's class defaults (true, true, leading).
  SchedulerConfig cfg = SchedulerConfig::from_json(nlohmann::json::object(), "empty");
  EXPECT_TRUE(cfg.clip_sample_for(SchedulerKind::DDIM));
  EXPECT_TRUE(cfg.set_alpha_to_one_for(SchedulerKind::DDIM));
  DDIMScheduler s(cfg);
  s.set_timesteps(10);
  EXPECT_EQ(s.timesteps().front(), 900.0f);
  EXPECT_EQ(s.timesteps().back(), 0.0f);
  // Last step: prev < 0 uses final_alpha_cumprod = 1, so x_prev = x̂0 exactly.
  const StepCoefficients c = s.step_coefficients(9);
  EXPECT_DOUBLE_EQ(c.x0, 1.0);
  EXPECT_NEAR(c.model_output, 0.0, 1e-12);
}

TEST(DDIMScheduler, RejectsWhatItCannotRun) {
  auto j = sd2_config();
  j["thresholding"] = true;
  try {
    DDIMScheduler s(SchedulerConfig::from_json(j, "folder/scheduler_config.json"));
    FAIL() << "thresholding accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("folder/scheduler_config.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("thresholding"), std::string::npos) << e.what();
  }
  DDIMScheduler s(SchedulerConfig::from_json(sd2_config(), "sd2"));
  EXPECT_THROW(s.set_timesteps(0), Error);
  EXPECT_THROW(s.set_timesteps(1001), Error);
  EXPECT_THROW(s.set_timesteps(1000), Error);  // leading + steps_offset 1 reaches t = 1000
  {
    // numpy's arange(1000, 0, -1000/61) has 62 entries, the last rounding to t = -1, which diffusers would
    // read as alphas_cumprod[-1] (the last one): refused here.
    auto j = sd2_config();
    j["timestep_spacing"] = "trailing";
    DDIMScheduler trailing(SchedulerConfig::from_json(j, "sd2"));
    EXPECT_THROW(trailing.set_timesteps(61), Error);
    EXPECT_NO_THROW(trailing.set_timesteps(60));
  }
  EXPECT_THROW(s.step_coefficients(0), Error);  // before set_timesteps
  s.set_timesteps(5);
  EXPECT_THROW(s.step_coefficients(5), Error);
  const std::vector<float> v(4, 0.0f);
  EXPECT_THROW(s.step(1, v, v, nullptr), Error);  // steps run in order
  EXPECT_THROW(s.step(0, std::vector<float>(3), v, nullptr), Error);
  EXPECT_THROW(s.add_noise(v, v, 12.5f), Error);
  EXPECT_THROW(s.add_noise(v, v, 1000.0f), Error);
}

}  // namespace
}  // namespace ezivk::sched
