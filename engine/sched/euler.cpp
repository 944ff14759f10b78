#include "engine/sched/euler.h"

#include <algorithm>
#include <cmath>

#include "engine/sched/noise_schedule.h"
#include "engine/sched/prediction.h"

namespace ezivk::sched {

double euler_init_noise_sigma(const std::vector<float>& sigmas, TimestepSpacing spacing) {
  const float max_sigma = *std::max_element(sigmas.begin(), sigmas.end());
  if (spacing == TimestepSpacing::Leading) return std::sqrt(max_sigma * max_sigma + 1.0f);
  return max_sigma;
}

int index_for_timestep(const std::vector<float>& timesteps, float t) {
  int first = -1;
  for (size_t k = 0; k < timesteps.size(); ++k) {
    if (timesteps[k] != t) continue;
    if (first >= 0) return static_cast<int>(k);
    first = static_cast<int>(k);
  }
  return first;
}

EulerScheduler::EulerScheduler(const SchedulerConfig& config) : Scheduler(SchedulerKind::Euler, config) {
  config_.reject_unsupported(kind_, {"rescale_betas_zero_snr", "interpolation_type", "use_exponential_sigmas",
                                     "use_beta_sigmas", "sigma_min", "sigma_max", "timestep_type"});
}

void EulerScheduler::set_timesteps(int n) {
  check_num_steps(n);
  std::vector<float> ts =
      euler_timestep_grid(config_.spacing_for(kind_), config_.num_train_timesteps, n, config_.steps_offset);
  const std::vector<float> train = training_sigmas(alphas_cumprod_);
  std::vector<double> sig(ts.size());
  for (size_t k = 0; k < ts.size(); ++k) sig[k] = np_interp(ts[k], train);
  if (config_.use_karras_sigmas) {
    sig = karras_sigmas(sig.back(), sig.front(), n);
    const std::vector<float> log_train = log_f32(train);
    // n Karras sigmas even where numpy's arange gave the trailing grid n + 1 entries.
    ts.clear();
    for (double s : sig) ts.push_back(static_cast<float>(sigma_to_t(s, log_train)));
  }
  sigmas_.assign(sig.begin(), sig.end());
  sigmas_.push_back(config_.final_sigma_zero ? 0.0f : train[0]);
  set_schedule(std::move(ts));
}

double EulerScheduler::init_noise_sigma() const {
  if (sigmas_.empty()) fail_here("set_timesteps must run before init_noise_sigma");
  return euler_init_noise_sigma(sigmas_, config_.spacing_for(kind_));
}

double EulerScheduler::model_input_scale(int i) const {
  check_step_index(i);
  const float s = sigmas_[static_cast<size_t>(i)];
  return 1.0 / static_cast<double>(std::sqrt(s * s + 1.0f));
}

StepCoefficients EulerScheduler::step_coefficients(int i) const {
  check_step_index(i);
  const float sigma = sigmas_[static_cast<size_t>(i)];
  const float dt = sigmas_[static_cast<size_t>(i) + 1] - sigma;
  StepCoefficients c;
  const Linear2 x0 = x0_from_sigma(config_.prediction_type, sigma);
  c.x0_sample = x0.sample;
  c.x0_model_output = x0.model_output;
  // x + (x − x̂0)/σ·dt
  const double r = static_cast<double>(dt) / sigma;
  c.sample = 1.0 + r;
  c.x0 = -r;
  return c;
}

NoiseCoefficients EulerScheduler::add_noise_coefficients(float t) const {
  const int k = index_for_timestep(timesteps(), t);
  if (k < 0) fail_here("add_noise: timestep " + std::to_string(t) + " is not in the schedule");
  return {1.0, sigmas_[static_cast<size_t>(k)]};
}

}  // namespace ezivk::sched
