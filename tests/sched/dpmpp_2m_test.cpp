#include <gtest/gtest.h>

#include <cmath>

#include "engine/util/error.h"
#include "engine/sched/dpmpp_2m.h"
#include "sched/sched_fixture.h"

namespace ezivk::sched {
namespace {

using testing::load_fixture;
using testing::sd2_config;

TEST(DPMSolverPP2MScheduler, GridsSigmasMatchReferenceWithAndWithoutKarras) {
  testing::check_grids(SchedulerKind::DPMSolverPP2M, load_fixture("dpmpp2m.json"));
}

TEST(DPMSolverPP2MScheduler, TrajectoriesMatchReference) {
  testing::check_trajectories(SchedulerKind::DPMSolverPP2M, load_fixture("dpmpp2m.json"));
}

TEST(DPMSolverPP2MScheduler, CoefficientsApplyLikeAKernel) {
  testing::check_kernel_style(SchedulerKind::DPMSolverPP2M, load_fixture("dpmpp2m.json"));
}

TEST(DPMSolverPP2MScheduler, AddNoiseMatchesReference) {
  testing::check_add_noise(SchedulerKind::DPMSolverPP2M, load_fixture("dpmpp2m.json"));
}

// First step and last step first order; the middle ones use the previous x̂0; the last lands on x̂0.
TEST(DPMSolverPP2MScheduler, OrderAndFinalStep) {
  DPMSolverPP2MScheduler s(SchedulerConfig::from_json(sd2_config(), "sd2"));
  s.set_timesteps(20);
  EXPECT_EQ(s.history_slots(), 1);
  EXPECT_EQ(s.step_coefficients(0).history[0], 0.0);
  EXPECT_NE(s.step_coefficients(1).history[0], 0.0);
  const StepCoefficients last = s.step_coefficients(19);
  EXPECT_EQ(last.history[0], 0.0);
  EXPECT_EQ(last.sample, 0.0);
  EXPECT_EQ(last.x0, 1.0);
  ASSERT_EQ(last.writes.size(), 1u);
  EXPECT_EQ(last.writes[0].x0, 1.0);

  // Midpoint second order from the formula in double: x_next = (σ_t/σ_s)x − α_t(e^{−h}−1)(D0 + D1/2).
  const int i = 7;
  const auto& sg = s.sigmas();
  auto lam = [](double sigma) { return std::log(1 / std::sqrt(sigma * sigma + 1)) - std::log(sigma / std::sqrt(sigma * sigma + 1)); };
  const double s_prev = sg[i - 1], s_cur = sg[i], s_next = sg[i + 1];
  const double h = lam(s_next) - lam(s_cur), h0 = lam(s_cur) - lam(s_prev), r0 = h0 / h;
  const double alpha_next = 1 / std::sqrt(s_next * s_next + 1);
  const double E = alpha_next * (std::exp(-h) - 1);
  const StepCoefficients c = s.step_coefficients(i);
  const double sig_t_next = s_next * alpha_next, sig_t_cur = s_cur / std::sqrt(s_cur * s_cur + 1);
  EXPECT_NEAR(c.sample, sig_t_next / sig_t_cur, 1e-6);
  EXPECT_NEAR(c.x0, -E - 0.5 * E / r0, 1e-5);
  EXPECT_NEAR(c.history[0], 0.5 * E / r0, 1e-5);
}

TEST(DPMSolverPP2MScheduler, RejectsUnimplementedVariants) {
  const std::vector<std::pair<const char*, nlohmann::json>> bad = {{"algorithm_type", "sde-dpmsolver++"},
                                                                   {"solver_type", "heun"},
                                                                   {"solver_order", 3},
                                                                   {"thresholding", true},
                                                                   {"use_lu_lambdas", true},
                                                                   {"variance_type", "learned_range"}};
  for (const auto& [key, value] : bad) {
    auto j = sd2_config();
    j[key] = value;
    const SchedulerConfig cfg = SchedulerConfig::from_json(j, "dpm/scheduler_config.json");
    try {
      DPMSolverPP2MScheduler s(cfg);
      ADD_FAILURE() << key << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("dpm/scheduler_config.json"), std::string::npos) << e.what();
    }
    // diffusers' DDIM ignores the DPM-Solver keys, and so does ours.
    if (std::string(key) != "thresholding") {
      EXPECT_NO_THROW(make_scheduler(SchedulerKind::DDIM, cfg)) << key;
    }
  }
  auto j = sd2_config();
  j["algorithm_type"] = "deis";  // diffusers rewrites it to dpmsolver++
  EXPECT_NO_THROW(DPMSolverPP2MScheduler(SchedulerConfig::from_json(j, "cfg")));
}

}  // namespace
}  // namespace ezivk::sched
