#pragma once
// Shared by the scheduler tests: the reference values of tools/fixtures/make_scheduler_fixtures.py (an
// independent Python implementation of the schedulers) and the checks every scheduler goes through.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/sched/dpmpp_2m.h"
#include "engine/sched/dpmpp_2m_inverse.h"
#include "engine/sched/euler.h"
#include "engine/sched/euler_ancestral.h"
#include "engine/sched/scheduler.h"

namespace ezivk::sched::testing {

inline std::filesystem::path fixture_dir() {
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "fixtures" / "sched";
}

inline nlohmann::json load_fixture(const std::string& name) {
  const auto path = fixture_dir() / name;
  std::ifstream in(path);
  if (!in) ADD_FAILURE() << "cannot open " << path;
  return nlohmann::json::parse(in);
}

inline std::vector<float> floats(const nlohmann::json& j) { return j.get<std::vector<float>>(); }

inline SchedulerConfig config_of(const nlohmann::json& j) { return SchedulerConfig::from_json(j, "fixture config"); }

// The fixtures' fake model: 0.3·x + 0.1·sin(t/100 + index), in double, rounded to float.
inline std::vector<float> fake_model(const std::vector<float>& x, float t) {
  std::vector<float> m(x.size());
  for (size_t e = 0; e < x.size(); ++e)
    m[e] = static_cast<float>(0.3 * static_cast<double>(x[e]) +
                              0.1 * std::sin(static_cast<double>(t) / 100.0 + static_cast<double>(e)));
  return m;
}

// |got − want| <= rel·(|want| + floor·max|want|): fp32-level relative error, with an absolute floor tied to
// the vector's scale for entries that pass near zero.
inline void expect_close(const std::vector<float>& got, const std::vector<float>& want, double rel,
                         const std::string& what, double floor = 0.1) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double scale = 0;
  for (float w : want) scale = std::max(scale, std::fabs(static_cast<double>(w)));
  for (size_t e = 0; e < want.size(); ++e) {
    const double tol = rel * (std::fabs(static_cast<double>(want[e])) + floor * scale);
    EXPECT_NEAR(got[e], want[e], tol) << what << " [" << e << "]";
  }
}

inline const std::vector<float>* sigmas_of(const Scheduler& s) {
  if (const auto* e = dynamic_cast<const EulerScheduler*>(&s)) return &e->sigmas();
  if (const auto* e = dynamic_cast<const EulerAncestralScheduler*>(&s)) return &e->sigmas();
  if (const auto* d = dynamic_cast<const DPMSolverPP2MScheduler*>(&s)) return &d->sigmas();
  if (const auto* d = dynamic_cast<const DPMSolverPP2MInverseScheduler*>(&s)) return &d->sigmas();
  return nullptr;
}

inline void check_grids(SchedulerKind kind, const nlohmann::json& doc, double sigma_rel = 2e-6) {
  ASSERT_FALSE(doc["grids"].empty());
  for (const auto& g : doc["grids"]) {
    const std::string what = std::string(scheduler_kind_name(kind)) + " grid " + g["config"].dump() + " n=" +
                             std::to_string(g["steps"].get<int>());
    auto s = make_scheduler(kind, config_of(g["config"]));
    s->set_timesteps(g["steps"].get<int>());
    const auto want = floats(g["timesteps"]);
    ASSERT_EQ(s->timesteps().size(), want.size()) << what;
    for (size_t k = 0; k < want.size(); ++k) {
      if (want[k] == std::floor(want[k]))
        EXPECT_EQ(s->timesteps()[k], want[k]) << what << " t[" << k << "]";
      else  // Karras timesteps come from float32 logs (numpy's SIMD log vs libm's logf differ by an ulp)
        EXPECT_NEAR(s->timesteps()[k], want[k], 1e-4) << what << " t[" << k << "]";
    }
    EXPECT_NEAR(s->init_noise_sigma(), g["init_noise_sigma"].get<double>(), 1e-6 * g["init_noise_sigma"].get<double>())
        << what;
    const std::vector<float>* sig = sigmas_of(*s);
    EXPECT_EQ(sig != nullptr, g.contains("sigmas")) << what;
    if (sig != nullptr && g.contains("sigmas")) {
      // The training sigmas come from alphas_cumprod, whose betas may differ from the fixture's torch build
      // in the last bit: a few ulp.
      expect_close(*sig, floats(g["sigmas"]), sigma_rel, what + " sigmas", 0.0);
      const bool euler = kind == SchedulerKind::Euler || kind == SchedulerKind::EulerAncestral;
      const auto want_sig = floats(g["sigmas"]);
      for (int i = 0; i < s->num_steps(); ++i) {
        const double si = want_sig[static_cast<size_t>(i)];
        const double want_scale = euler ? 1.0 / std::sqrt(si * si + 1.0) : 1.0;
        EXPECT_NEAR(s->model_input_scale(i), want_scale, 1e-6 * want_scale) << what << " scale[" << i << "]";
      }
    }
  }
}

// Runs each trajectory through the host step and compares every sample (and x̂0 where diffusers reports it).
inline void check_trajectories(SchedulerKind kind, const nlohmann::json& doc, double rel = 1e-5) {
  ASSERT_FALSE(doc["trajectories"].empty());
  for (const auto& c : doc["trajectories"]) {
    const std::string name = std::string(scheduler_kind_name(kind)) + " " + c["name"].get<std::string>();
    auto s = make_scheduler(kind, config_of(c["config"]));
    s->set_timesteps(c["steps"].get<int>());
    const auto ts = floats(c["timesteps"]);
    ASSERT_EQ(static_cast<size_t>(s->num_steps()), ts.size()) << name;
    for (size_t k = 0; k < ts.size(); ++k) EXPECT_NEAR(s->timesteps()[k], ts[k], 1e-4) << name << " t[" << k << "]";
    std::vector<float> x = floats(c["sample0"]);
    for (int i = 0; i < s->num_steps(); ++i) {
      const auto k = static_cast<size_t>(i);
      const std::string at = name + " step " + std::to_string(i);
      const float t = s->timesteps()[k];
      std::vector<float> x_in(x.size());
      const double scale = s->model_input_scale(i);
      for (size_t e = 0; e < x.size(); ++e) x_in[e] = static_cast<float>(x[e] * scale);
      if (c.contains("model_inputs")) expect_close(x_in, floats(c["model_inputs"][k]), rel, at + " model input");
      const std::vector<float> m = fake_model(x_in, t);
      const auto& nz = c["noise"][k];
      EXPECT_EQ(s->needs_noise(i), !nz.is_null()) << at;
      std::vector<float> noise;
      if (!nz.is_null()) noise = floats(nz);
      x = s->step(i, m, x, nz.is_null() ? nullptr : &noise);
      expect_close(x, floats(c["samples"][k]), rel, at);
      if (!c["x0"][k].is_null()) expect_close(s->predicted_x0(), floats(c["x0"][k]), rel, at + " x0");
      if (::testing::Test::HasFailure()) return;  // one diverging trajectory is enough to read
    }
  }
}

inline void check_add_noise(SchedulerKind kind, const nlohmann::json& doc) {
  ASSERT_FALSE(doc["add_noise"].empty());
  for (const auto& c : doc["add_noise"]) {
    auto s = make_scheduler(kind, config_of(c["config"]));
    s->set_timesteps(c["steps"].get<int>());
    const float t = c["t"].get<float>();
    expect_close(s->add_noise(floats(c["x0"]), floats(c["noise"]), t), floats(c["out"]), 1e-6,
                 std::string(scheduler_kind_name(kind)) + " add_noise t=" + std::to_string(t));
  }
}

// Applies step_coefficients the way a GPU kernel would: float32 arithmetic, history in slot buffers the
// caller owns, no help from Scheduler::step. Returns the samples after every step.
inline std::vector<std::vector<float>> run_like_a_kernel(Scheduler& s, std::vector<float> x,
                                                         const nlohmann::json& noises) {
  std::vector<std::vector<float>> slots(static_cast<size_t>(s.history_slots()), std::vector<float>(x.size(), 0.0f));
  std::vector<std::vector<float>> out;
  for (int i = 0; i < s.num_steps(); ++i) {
    const StepCoefficients c = s.step_coefficients(i);
    const auto scale = static_cast<float>(s.model_input_scale(i));
    std::vector<float> x_in(x.size());
    for (size_t e = 0; e < x.size(); ++e) x_in[e] = x[e] * scale;
    const std::vector<float> m = fake_model(x_in, s.timesteps()[static_cast<size_t>(i)]);
    const auto& nz = noises[static_cast<size_t>(i)];
    for (size_t e = 0; e < x.size(); ++e) {
      float x0 = static_cast<float>(c.x0_sample) * x[e] + static_cast<float>(c.x0_model_output) * m[e];
      if (c.clip_x0) x0 = std::clamp(x0, -static_cast<float>(c.clip_range), static_cast<float>(c.clip_range));
      float next = static_cast<float>(c.sample) * x[e] + static_cast<float>(c.model_output) * m[e] +
                   static_cast<float>(c.x0) * x0;
      if (!nz.is_null()) next += static_cast<float>(c.noise) * nz[e].get<float>();
      for (size_t k = 0; k < c.history.size(); ++k) next += static_cast<float>(c.history[k]) * slots[k][e];
      for (const HistoryWrite& w : c.writes)
        slots[static_cast<size_t>(w.slot)][e] = static_cast<float>(w.sample) * x[e] +
                                                static_cast<float>(w.model_output) * m[e] +
                                                static_cast<float>(w.x0) * x0;
      x[e] = next;
    }
    out.push_back(x);
  }
  return out;
}

inline void check_kernel_style(SchedulerKind kind, const nlohmann::json& doc, double rel = 2e-5) {
  for (const auto& c : doc["trajectories"]) {
    auto s = make_scheduler(kind, config_of(c["config"]));
    s->set_timesteps(c["steps"].get<int>());
    const auto got = run_like_a_kernel(*s, floats(c["sample0"]), c["noise"]);
    for (size_t k = 0; k < got.size(); ++k)
      expect_close(got[k], floats(c["samples"][k]), rel,
                   std::string(scheduler_kind_name(kind)) + " " + c["name"].get<std::string>() + " (kernel-style) step " +
                       std::to_string(k));
    if (::testing::Test::HasFailure()) return;
  }
}

inline nlohmann::json sd2_config() {
  return nlohmann::json::parse(R"({
    "_class_name": "PNDMScheduler", "_diffusers_version": "0.10.0.dev0", "beta_end": 0.012,
    "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": false, "num_train_timesteps": 1000,
    "prediction_type": "epsilon", "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1,
    "trained_betas": null})");
}

}  // namespace ezivk::sched::testing
