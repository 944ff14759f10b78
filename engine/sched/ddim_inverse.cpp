#include "engine/sched/ddim_inverse.h"

#include <algorithm>
#include <cmath>

#include "engine/sched/noise_schedule.h"
#include "engine/sched/prediction.h"

namespace ezivk::sched {

DDIMInverseScheduler::DDIMInverseScheduler(const SchedulerConfig& config)
    : Scheduler(SchedulerKind::DDIMInverse, config) {
  config_.reject_unsupported(kind_, {"rescale_betas_zero_snr"});
  const TimestepSpacing spacing = config_.spacing_for(kind_);
  if (spacing == TimestepSpacing::Linspace)
    config_.fail_setting(kind_, "timestep_spacing", "\"linspace\"", "diffusers' DDIMInverseScheduler has leading and trailing");
  initial_alpha_cumprod_ = config_.set_alpha_to_one_for(kind_) ? 1.0f : alphas_cumprod_[0];
}

void DDIMInverseScheduler::set_timesteps(int n) {
  check_num_steps(n);
  n_ = n;
  const int T = config_.num_train_timesteps;
  // The forward grids, ascending.
  if (config_.spacing_for(kind_) == TimestepSpacing::Leading) {
    ts_.clear();
    for (int64_t k = 0; k < n; ++k) ts_.push_back(k * (T / n) + config_.steps_offset);
  } else {
    ts_ = descending_grid(TimestepSpacing::Trailing, T, n, 0);
    std::reverse(ts_.begin(), ts_.end());
  }
  check_timesteps_in_range(ts_, T, config_.source, "ddim-inverse");
  set_schedule(std::vector<float>(ts_.begin(), ts_.end()));
}

StepCoefficients DDIMInverseScheduler::step_coefficients(int i) const {
  check_step_index(i);
  const int T = config_.num_train_timesteps;
  const int64_t target = ts_[static_cast<size_t>(i)];
  const int64_t from = std::min<int64_t>(target - T / n_, T - 1);
  const float a_s = from >= 0 ? alphas_cumprod_[static_cast<size_t>(from)] : initial_alpha_cumprod_;
  const float a_t = alphas_cumprod_[static_cast<size_t>(target)];

  StepCoefficients c;
  const Linear2 x0 = x0_from_alpha(config_.prediction_type, a_s);
  const Linear2 eps = eps_from_alpha(config_.prediction_type, a_s);
  c.x0_sample = x0.sample;
  c.x0_model_output = x0.model_output;
  c.clip_x0 = config_.clip_sample_for(kind_);
  c.clip_range = config_.clip_sample_range;
  const float direction = std::sqrt(1.0f - a_t);
  c.x0 = std::sqrt(a_t);
  c.sample = direction * eps.sample;
  c.model_output = direction * eps.model_output;
  return c;
}

NoiseCoefficients DDIMInverseScheduler::add_noise_coefficients(float t) const { return add_noise_by_alpha(t); }

}  // namespace ezivk::sched
