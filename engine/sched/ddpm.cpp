#include "engine/sched/ddpm.h"

#include <algorithm>
#include <cmath>

#include "engine/sched/noise_schedule.h"
#include "engine/sched/prediction.h"

namespace ezivk::sched {

DDPMScheduler::DDPMScheduler(const SchedulerConfig& config) : Scheduler(SchedulerKind::DDPM, config) {
  config_.reject_unsupported(kind_, {"thresholding", "rescale_betas_zero_snr"});
  const std::string& v = config_.variance_type;
  if (v.empty() || v == "fixed_small")
    variance_ = Variance::FixedSmall;
  else if (v == "fixed_small_log")
    variance_ = Variance::FixedSmallLog;
  else if (v == "fixed_large")
    variance_ = Variance::FixedLarge;
  else
    config_.fail_setting(kind_, "variance_type", "\"" + v + "\"", "implemented: fixed_small, fixed_small_log, fixed_large");
}

void DDPMScheduler::set_timesteps(int n) {
  check_num_steps(n);
  ts_ = descending_grid(config_.spacing_for(kind_), config_.num_train_timesteps, n, config_.steps_offset);
  check_timesteps_in_range(ts_, config_.num_train_timesteps, config_.source, "ddpm");
  set_schedule(std::vector<float>(ts_.begin(), ts_.end()));
}

bool DDPMScheduler::needs_noise(int i) const {
  check_step_index(i);
  return ts_[static_cast<size_t>(i)] > 0;
}

StepCoefficients DDPMScheduler::step_coefficients(int i) const {
  check_step_index(i);
  const auto k = static_cast<size_t>(i);
  const int64_t t = ts_[k];
  const int64_t prev = k + 1 < ts_.size() ? ts_[k + 1] : -1;
  const float a_t = alphas_cumprod_[static_cast<size_t>(t)];
  const float a_p = prev >= 0 ? alphas_cumprod_[static_cast<size_t>(prev)] : 1.0f;
  const float b_t = 1.0f - a_t;
  const float b_p = 1.0f - a_p;
  const float cur_a = a_t / a_p;
  const float cur_b = 1.0f - cur_a;

  StepCoefficients c;
  const Linear2 x0 = x0_from_alpha(config_.prediction_type, a_t);
  c.x0_sample = x0.sample;
  c.x0_model_output = x0.model_output;
  c.clip_x0 = config_.clip_sample_for(kind_);
  c.clip_range = config_.clip_sample_range;
  c.x0 = std::sqrt(a_p) * cur_b / b_t;
  c.sample = std::sqrt(cur_a) * b_p / b_t;
  if (t > 0) {
    const float variance = std::max((1.0f - a_p) / (1.0f - a_t) * cur_b, 1e-20f);
    switch (variance_) {
      case Variance::FixedSmall: c.noise = std::sqrt(variance); break;
      case Variance::FixedSmallLog: c.noise = std::exp(0.5f * std::log(variance)); break;
      case Variance::FixedLarge: c.noise = std::sqrt(cur_b); break;
    }
  }
  return c;
}

NoiseCoefficients DDPMScheduler::add_noise_coefficients(float t) const { return add_noise_by_alpha(t); }

}  // namespace ezivk::sched
