#include "engine/sched/dpmpp_2m.h"

#include <algorithm>
#include <cmath>

#include "engine/sched/euler.h"
#include "engine/sched/noise_schedule.h"
#include "engine/sched/prediction.h"

namespace ezivk::sched {
namespace {

float lambda_of(AlphaSigma as) { return std::log(as.alpha) - std::log(as.sigma); }

}  // namespace

void reject_unsupported_dpm_settings(const SchedulerConfig& config, SchedulerKind kind) {
  config.reject_unsupported(kind, {"thresholding", "algorithm_type", "solver_type", "solver_order",
                                   "use_exponential_sigmas", "use_beta_sigmas", "use_flow_sigmas",
                                   "lambda_min_clipped"});
  if (config.variance_type == "learned" || config.variance_type == "learned_range")
    config.fail_setting(kind, "variance_type", "\"" + config.variance_type + "\"",
                        "the model output must be the prediction alone");
}

StepCoefficients dpm_solver_pp_step(PredictionType prediction, const std::vector<float>& sigmas, int i,
                                    bool first_order) {
  const auto k = static_cast<size_t>(i);
  const AlphaSigma cur = alpha_sigma_from_sigma(sigmas[k]);
  const AlphaSigma next = alpha_sigma_from_sigma(sigmas[k + 1]);
  StepCoefficients c;
  c.history.assign(1, 0.0);
  const Linear2 x0 = x0_from_alpha_sigma(prediction, cur);
  c.x0_sample = x0.sample;
  c.x0_model_output = x0.model_output;
  c.writes.push_back({0, 0.0, 0.0, 1.0});

  // float32 throughout, as diffusers' scalar tensors. A final σ of 0 gives λ = +inf and e^{−h} = 0, which
  // IEEE arithmetic carries through to x_next = x̂0.
  const float h = lambda_of(next) - lambda_of(cur);
  const float e = next.alpha * (std::exp(-h) - 1.0f);
  c.sample = next.sigma / cur.sigma;
  if (first_order) {
    c.x0 = -static_cast<double>(e);
    return c;
  }
  const AlphaSigma before = alpha_sigma_from_sigma(sigmas[k - 1]);
  const float h0 = lambda_of(cur) - lambda_of(before);
  const float r0 = h0 / h;
  const float inv_r0 = 1.0f / r0;
  const float half_e = 0.5f * e;
  // − e·D0 − (e/2)·D1, D1 = (x̂0 − x̂0_prev)/r0
  c.x0 = -static_cast<double>(e) - static_cast<double>(half_e) * inv_r0;
  c.history[0] = static_cast<double>(half_e) * inv_r0;
  return c;
}

NoiseCoefficients dpm_solver_add_noise(const std::vector<float>& timesteps, const std::vector<float>& sigmas, float t) {
  int k = index_for_timestep(timesteps, t);
  if (k < 0) k = static_cast<int>(timesteps.size()) - 1;
  const AlphaSigma as = alpha_sigma_from_sigma(sigmas[static_cast<size_t>(k)]);
  return {as.alpha, as.sigma};
}

DPMSolverPP2MScheduler::DPMSolverPP2MScheduler(const SchedulerConfig& config)
    : Scheduler(SchedulerKind::DPMSolverPP2M, config) {
  reject_unsupported_dpm_settings(config_, kind_);
  config_.reject_unsupported(kind_, {"rescale_betas_zero_snr", "use_lu_lambdas", "use_dynamic_shifting"});
}

void DPMSolverPP2MScheduler::set_timesteps(int n) {
  check_num_steps(n);
  const int T = config_.num_train_timesteps;
  const int last = T;  // lambda_min_clipped = −inf clips nothing
  std::vector<int64_t> ts;
  switch (config_.spacing_for(kind_)) {
    case TimestepSpacing::Linspace: {
      const std::vector<double> grid = np_linspace(0, last - 1, n + 1);
      for (size_t k = grid.size() - 1; k >= 1; --k) ts.push_back(static_cast<int64_t>(np_round(grid[k])));
      break;
    }
    case TimestepSpacing::Leading: {
      const int64_t ratio = last / (n + 1);
      for (int64_t k = n; k >= 1; --k) ts.push_back(k * ratio + config_.steps_offset);
      break;
    }
    case TimestepSpacing::Trailing:
      for (double v : np_arange(last, 0, -static_cast<double>(T) / n)) ts.push_back(static_cast<int64_t>(np_round(v)) - 1);
      break;
  }
  const std::vector<float> train = training_sigmas(alphas_cumprod_);
  std::vector<double> sig;
  if (config_.use_karras_sigmas) {
    sig = karras_sigmas(train.front(), train.back(), n);
    const std::vector<float> log_train = log_f32(train);
    ts.clear();
    for (double s : sig) {
      double t = sigma_to_t(s, log_train);
      // diffusers rounds except for the cosine schedule, whose fractional t is then truncated to int64.
      if (config_.beta_schedule != BetaSchedule::SquaredCosCapV2) t = np_round(t);
      ts.push_back(static_cast<int64_t>(t));
    }
  } else {
    for (int64_t t : ts) sig.push_back(np_interp(static_cast<double>(t), train));
  }
  sigmas_.assign(sig.begin(), sig.end());
  sigmas_.push_back(config_.final_sigma_zero ? 0.0f : train.front());
  set_schedule(std::vector<float>(ts.begin(), ts.end()));
}

StepCoefficients DPMSolverPP2MScheduler::step_coefficients(int i) const {
  check_step_index(i);
  const int n = num_steps();
  const bool final_first_order = i == n - 1 && (config_.euler_at_final || (config_.lower_order_final && n < 15) ||
                                                config_.final_sigma_zero);
  const bool first_order = config_.solver_order == 1 || i == 0 || final_first_order;
  return dpm_solver_pp_step(config_.prediction_type, sigmas_, i, first_order);
}

NoiseCoefficients DPMSolverPP2MScheduler::add_noise_coefficients(float t) const {
  check_step_index(0);
  return dpm_solver_add_noise(timesteps(), sigmas_, t);
}

}  // namespace ezivk::sched
