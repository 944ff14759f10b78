#include "engine/sched/euler_ancestral.h"

#include <cmath>

#include "engine/sched/euler.h"
#include "engine/sched/noise_schedule.h"
#include "engine/sched/prediction.h"

namespace ezivk::sched {

EulerAncestralScheduler::EulerAncestralScheduler(const SchedulerConfig& config)
    : Scheduler(SchedulerKind::EulerAncestral, config) {
  config_.reject_unsupported(kind_, {"rescale_betas_zero_snr"});
  if (config_.prediction_type == PredictionType::Sample)
    config_.fail_setting(kind_, "prediction_type", "\"sample\"", "diffusers' Euler ancestral takes epsilon or v_prediction");
}

void EulerAncestralScheduler::set_timesteps(int n) {
  check_num_steps(n);
  std::vector<float> ts =
      euler_timestep_grid(config_.spacing_for(kind_), config_.num_train_timesteps, n, config_.steps_offset);
  const std::vector<float> train = training_sigmas(alphas_cumprod_);
  sigmas_.clear();
  for (float t : ts) sigmas_.push_back(static_cast<float>(np_interp(t, train)));
  sigmas_.push_back(0.0f);
  set_schedule(std::move(ts));
}

double EulerAncestralScheduler::init_noise_sigma() const {
  if (sigmas_.empty()) fail_here("set_timesteps must run before init_noise_sigma");
  return euler_init_noise_sigma(sigmas_, config_.spacing_for(kind_));
}

double EulerAncestralScheduler::model_input_scale(int i) const {
  check_step_index(i);
  const float s = sigmas_[static_cast<size_t>(i)];
  return 1.0 / static_cast<double>(std::sqrt(s * s + 1.0f));
}

bool EulerAncestralScheduler::needs_noise(int i) const {
  check_step_index(i);
  return true;
}

StepCoefficients EulerAncestralScheduler::step_coefficients(int i) const {
  check_step_index(i);
  const float s_from = sigmas_[static_cast<size_t>(i)];
  const float s_to = sigmas_[static_cast<size_t>(i) + 1];
  const float s_up = std::sqrt(s_to * s_to * (s_from * s_from - s_to * s_to) / (s_from * s_from));
  const float s_down = std::sqrt(s_to * s_to - s_up * s_up);
  const float dt = s_down - s_from;
  StepCoefficients c;
  const Linear2 x0 = x0_from_sigma(config_.prediction_type, s_from);
  c.x0_sample = x0.sample;
  c.x0_model_output = x0.model_output;
  const double r = static_cast<double>(dt) / s_from;
  c.sample = 1.0 + r;
  c.x0 = -r;
  c.noise = s_up;
  return c;
}

NoiseCoefficients EulerAncestralScheduler::add_noise_coefficients(float t) const {
  const int k = index_for_timestep(timesteps(), t);
  if (k < 0) fail_here("add_noise: timestep " + std::to_string(t) + " is not in the schedule");
  return {1.0, sigmas_[static_cast<size_t>(k)]};
}

}  // namespace ezivk::sched
