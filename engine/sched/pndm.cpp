#include "engine/sched/pndm.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "engine/sched/noise_schedule.h"
#include "engine/sched/prediction.h"

namespace ezivk::sched {
namespace {
constexpr int kSavedSample = 4;
}

PNDMScheduler::PNDMScheduler(const SchedulerConfig& config) : Scheduler(SchedulerKind::PNDM, config) {
  if (!config_.skip_prk_steps.value_or(false))
    config_.fail_setting(kind_, "skip_prk_steps", config_.skip_prk_steps ? "false" : "absent (false)",
                         "only the PLMS form is implemented; Stable Diffusion folders set skip_prk_steps to true");
  if (config_.prediction_type == PredictionType::Sample)
    config_.fail_setting(kind_, "prediction_type", "\"sample\"", "diffusers' PNDM takes epsilon or v_prediction");
  final_alpha_cumprod_ = config_.set_alpha_to_one_for(kind_) ? 1.0f : alphas_cumprod_[0];
}

void PNDMScheduler::set_timesteps(int n) {
  check_num_steps(n);
  const int T = config_.num_train_timesteps;
  ratio_ = T / n;
  std::vector<int64_t> up = descending_grid(config_.spacing_for(kind_), T, n, config_.steps_offset);
  std::reverse(up.begin(), up.end());
  // diffusers: concatenate(up[:-1], up[-2:-1], up[-1:]) reversed.
  std::vector<int64_t> plms(up.begin(), up.end() - 1);
  if (up.size() >= 2) plms.push_back(up[up.size() - 2]);
  plms.push_back(up.back());
  std::reverse(plms.begin(), plms.end());
  ts_ = plms;
  check_timesteps_in_range(ts_, T, config_.source, "pndm");
  if (ts_.size() > 1) {  // step 1 steps from ts[1] + T/n
    const std::vector<int64_t> corrected = {ts_[1] + ratio_};
    check_timesteps_in_range(corrected, T, config_.source, "pndm");
  }
  set_schedule(std::vector<float>(ts_.begin(), ts_.end()));
}

StepCoefficients PNDMScheduler::step_coefficients(int i) const {
  check_step_index(i);
  StepCoefficients c;
  c.history.assign(static_cast<size_t>(history_slots()), 0.0);

  const int64_t t_seen = ts_[static_cast<size_t>(i)];
  const Linear2 seen = x0_from_alpha(config_.prediction_type, alphas_cumprod_[static_cast<size_t>(t_seen)]);
  c.x0_sample = seen.sample;
  c.x0_model_output = seen.model_output;

  // The combined model output: w_m·m + Σ w[slot]·ets[slot].
  int64_t t = t_seen;
  int64_t prev = t - ratio_;
  double w_m = 0;
  std::array<double, 4> w{};
  bool from_saved = false;
  const auto slot = [](int entry) { return static_cast<size_t>(entry % 4); };
  if (i == 0) {
    w_m = 1.0;
    c.writes.push_back({0, 0.0, 1.0, 0.0});
    c.writes.push_back({kSavedSample, 1.0, 0.0, 0.0});
  } else if (i == 1) {
    prev = t;
    t = t + ratio_;
    w_m = 0.5;
    w[0] = 0.5;
    from_saved = true;
  } else {
    const int j = i - 1;  // this model output is ets entry j
    c.writes.push_back({static_cast<int>(slot(j)), 0.0, 1.0, 0.0});
    switch (std::min(i, 4)) {
      case 2:
        w_m = 3.0 / 2;
        w[slot(j - 1)] = -1.0 / 2;
        break;
      case 3:
        w_m = 23.0 / 12;
        w[slot(j - 1)] = -16.0 / 12;
        w[slot(j - 2)] = 5.0 / 12;
        break;
      default:
        w_m = 55.0 / 24;
        w[slot(j - 1)] = -59.0 / 24;
        w[slot(j - 2)] = 37.0 / 24;
        w[slot(j - 3)] = -9.0 / 24;
        break;
    }
  }

  const float a_t = alphas_cumprod_[static_cast<size_t>(t)];
  const float a_p = prev >= 0 ? alphas_cumprod_[static_cast<size_t>(prev)] : final_alpha_cumprod_;
  const float b_t = 1.0f - a_t;
  const float b_p = 1.0f - a_p;
  const float sample_coeff = std::sqrt(a_p / a_t);
  const float denom = a_t * std::sqrt(b_p) + std::sqrt(a_t * b_t * a_p);
  const double k = static_cast<double>(a_p - a_t) / denom;
  const bool v = config_.prediction_type == PredictionType::VPrediction;
  // ε = combined (epsilon) or √ᾱ_t·combined + √(1−ᾱ_t)·x (v_prediction); x_prev = sample_coeff·x − k·ε.
  const double on_combined = -k * (v ? static_cast<double>(std::sqrt(a_t)) : 1.0);
  const double on_sample = sample_coeff - k * (v ? static_cast<double>(std::sqrt(b_t)) : 0.0);
  c.model_output = on_combined * w_m;
  for (size_t s = 0; s < w.size(); ++s) c.history[s] = on_combined * w[s];
  if (from_saved)
    c.history[kSavedSample] = on_sample;
  else
    c.sample = on_sample;
  return c;
}

NoiseCoefficients PNDMScheduler::add_noise_coefficients(float t) const { return add_noise_by_alpha(t); }

}  // namespace ezivk::sched
