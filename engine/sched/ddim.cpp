#include "engine/sched/ddim.h"

#include <cmath>

#include "engine/sched/noise_schedule.h"
#include "engine/sched/prediction.h"

namespace ezivk::sched {

DDIMScheduler::DDIMScheduler(const SchedulerConfig& config) : Scheduler(SchedulerKind::DDIM, config) {
  config_.reject_unsupported(kind_, {"thresholding", "rescale_betas_zero_snr"});
  final_alpha_cumprod_ = config_.set_alpha_to_one_for(kind_) ? 1.0f : alphas_cumprod_[0];
}

void DDIMScheduler::set_timesteps(int n) {
  check_num_steps(n);
  n_ = n;
  ts_ = descending_grid(config_.spacing_for(kind_), config_.num_train_timesteps, n, config_.steps_offset);
  check_timesteps_in_range(ts_, config_.num_train_timesteps, config_.source, "ddim");
  set_schedule(std::vector<float>(ts_.begin(), ts_.end()));
}

bool DDIMScheduler::needs_noise(int i) const {
  check_step_index(i);
  return config_.eta > 0;
}

StepCoefficients DDIMScheduler::step_coefficients(int i) const {
  check_step_index(i);
  const int64_t t = ts_[static_cast<size_t>(i)];
  const int64_t prev = t - config_.num_train_timesteps / n_;
  const float a_t = alphas_cumprod_[static_cast<size_t>(t)];
  const float a_p = prev >= 0 ? alphas_cumprod_[static_cast<size_t>(prev)] : final_alpha_cumprod_;
  const float b_t = 1.0f - a_t;
  const float variance = ((1.0f - a_p) / b_t) * (1.0f - a_t / a_p);
  const float std_dev = static_cast<float>(config_.eta) * std::sqrt(variance);
  const float direction = std::sqrt(1.0f - a_p - std_dev * std_dev);

  StepCoefficients c;
  const Linear2 x0 = x0_from_alpha(config_.prediction_type, a_t);
  const Linear2 eps = eps_from_alpha(config_.prediction_type, a_t);
  c.x0_sample = x0.sample;
  c.x0_model_output = x0.model_output;
  c.clip_x0 = config_.clip_sample_for(kind_);
  c.clip_range = config_.clip_sample_range;
  c.x0 = std::sqrt(a_p);
  c.sample = direction * eps.sample;
  c.model_output = direction * eps.model_output;
  if (config_.eta > 0) c.noise = std_dev;
  return c;
}

NoiseCoefficients DDIMScheduler::add_noise_coefficients(float t) const { return add_noise_by_alpha(t); }

}  // namespace ezivk::sched
