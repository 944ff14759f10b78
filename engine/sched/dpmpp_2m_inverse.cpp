#include "engine/sched/dpmpp_2m_inverse.h"

#include <algorithm>
#include <cstdint>

#include "engine/sched/dpmpp_2m.h"
#include "engine/sched/noise_schedule.h"

namespace ezivk::sched {

DPMSolverPP2MInverseScheduler::DPMSolverPP2MInverseScheduler(const SchedulerConfig& config)
    : Scheduler(SchedulerKind::DPMSolverPP2MInverse, config) {
  reject_unsupported_dpm_settings(config_, kind_);
}

void DPMSolverPP2MInverseScheduler::set_timesteps(int n) {
  check_num_steps(n);
  const int T = config_.num_train_timesteps;
  const int noisiest = T - 1;  // lambda_min_clipped = −inf clips nothing
  std::vector<int64_t> ts;
  switch (config_.spacing_for(kind_)) {
    case TimestepSpacing::Linspace: {
      const std::vector<double> grid = np_linspace(0, noisiest, n + 1);
      for (size_t k = 0; k + 1 < grid.size(); ++k) ts.push_back(static_cast<int64_t>(np_round(grid[k])));
      break;
    }
    case TimestepSpacing::Leading: {
      const int64_t ratio = (noisiest + 1) / (n + 1);
      for (int64_t k = 0; k < n; ++k) ts.push_back(k * ratio + config_.steps_offset);
      break;
    }
    case TimestepSpacing::Trailing:
      for (double v : np_arange(noisiest + 1, 0, -static_cast<double>(T) / n))
        ts.push_back(static_cast<int64_t>(np_round(v)) - 1);
      std::reverse(ts.begin(), ts.end());
      break;
  }
  const std::vector<float> train = training_sigmas(alphas_cumprod_);
  sigmas_.clear();
  if (config_.use_karras_sigmas) {
    // diffusers passes the ascending training sigmas, so its "sigma_min" is the largest: the ramp ascends.
    const std::vector<double> sig = karras_sigmas(train.back(), train.front(), n);
    const std::vector<float> log_train = log_f32(train);
    ts.clear();
    for (double s : sig) ts.push_back(static_cast<int64_t>(np_round(sigma_to_t(s, log_train))));
    sigmas_.assign(sig.begin(), sig.end());
    sigmas_.push_back(sigmas_.back());
  } else {
    for (int64_t t : ts) sigmas_.push_back(static_cast<float>(np_interp(static_cast<double>(t), train)));
    sigmas_.push_back(train[static_cast<size_t>(noisiest)]);
  }
  // np.unique keeps first occurrences; the sigmas keep their length, as in diffusers.
  std::vector<int64_t> unique;
  for (int64_t t : ts)
    if (std::find(unique.begin(), unique.end(), t) == unique.end()) unique.push_back(t);
  set_schedule(std::vector<float>(unique.begin(), unique.end()));
}

StepCoefficients DPMSolverPP2MInverseScheduler::step_coefficients(int i) const {
  check_step_index(i);
  const int n = num_steps();
  const bool final_first_order = i == n - 1 && (config_.euler_at_final || (config_.lower_order_final && n < 15));
  const bool first_order = config_.solver_order == 1 || i == 0 || final_first_order;
  return dpm_solver_pp_step(config_.prediction_type, sigmas_, i, first_order);
}

NoiseCoefficients DPMSolverPP2MInverseScheduler::add_noise_coefficients(float t) const {
  check_step_index(0);
  return dpm_solver_add_noise(timesteps(), sigmas_, t);
}

}  // namespace ezivk::sched
