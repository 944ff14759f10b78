#include "engine/sched/scheduler.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/util/error.h"
#include "engine/sched/ddim.h"
#include "engine/sched/ddim_inverse.h"
#include "engine/sched/ddpm.h"
#include "engine/sched/dpmpp_2m.h"
#include "engine/sched/dpmpp_2m_inverse.h"
#include "engine/sched/euler.h"
#include "engine/sched/euler_ancestral.h"
#include "engine/sched/noise_schedule.h"
#include "engine/sched/pndm.h"

namespace ezivk::sched {

Scheduler::Scheduler(SchedulerKind kind, const SchedulerConfig& config) : kind_(kind), config_(config) {
  config_.reject_unsupported(kind_, {"trained_betas"});
  betas_ = make_betas(config_.beta_schedule, config_.beta_start, config_.beta_end, config_.num_train_timesteps);
  alphas_cumprod_ = cumulative_alphas(betas_);
}

double Scheduler::model_input_scale(int i) const {
  check_step_index(i);
  return 1.0;
}

bool Scheduler::needs_noise(int i) const {
  check_step_index(i);
  return false;
}

void Scheduler::fail_here(const std::string& what) const {
  fail(std::string(scheduler_kind_name(kind_)) + " scheduler (" + config_.source + "): " + what);
}

void Scheduler::check_step_index(int i) const {
  if (timesteps_.empty()) fail_here("set_timesteps must run before the steps");
  if (i < 0 || i >= num_steps())
    fail_here("step " + std::to_string(i) + " is outside the " + std::to_string(num_steps()) + " steps");
}

void Scheduler::check_num_steps(int n) const {
  if (n < 1 || n > config_.num_train_timesteps)
    fail_here("the number of steps must be in [1, " + std::to_string(config_.num_train_timesteps) + "], got " +
              std::to_string(n));
}

NoiseCoefficients Scheduler::add_noise_by_alpha(float t) const {
  const auto T = static_cast<float>(config_.num_train_timesteps);
  if (!(t >= 0.0f && t < T) || t != std::floor(t))
    fail_here("add_noise needs an integer timestep in [0, " + std::to_string(config_.num_train_timesteps) +
              "), got " + std::to_string(t));
  const float a = alphas_cumprod_[static_cast<size_t>(t)];
  return {std::sqrt(a), std::sqrt(1.0f - a)};
}

void Scheduler::set_schedule(std::vector<float> timesteps) {
  timesteps_ = std::move(timesteps);
  history_.clear();
  x0_.clear();
  next_step_ = 0;
}

std::vector<float> Scheduler::step(int i, const std::vector<float>& model_output, const std::vector<float>& sample,
                                   const std::vector<float>* noise) {
  check_step_index(i);
  if (i != 0 && i != next_step_)
    fail_here("step " + std::to_string(i) + " must follow step " + std::to_string(i - 1) + " (next expected: " +
              std::to_string(next_step_) + ")");
  const size_t n = sample.size();
  if (model_output.size() != n)
    fail_here("model output has " + std::to_string(model_output.size()) + " values, the sample " + std::to_string(n));
  if (needs_noise(i) && noise == nullptr) fail_here("step " + std::to_string(i) + " needs a noise array");
  const StepCoefficients c = step_coefficients(i);
  const bool use_noise = c.noise != 0.0 && noise != nullptr;
  if (use_noise && noise->size() != n)
    fail_here("noise has " + std::to_string(noise->size()) + " values, the sample " + std::to_string(n));

  const auto slots = static_cast<size_t>(history_slots());
  if (i == 0) history_.assign(slots, std::vector<float>(n, 0.0f));
  for (const auto& h : history_)
    if (h.size() != n) fail_here("the sample size changed from " + std::to_string(h.size()) + " to " + std::to_string(n));

  std::vector<float> out(n);
  x0_.assign(n, 0.0f);
  for (size_t e = 0; e < n; ++e) {
    const double x = sample[e];
    const double m = model_output[e];
    double x0 = c.x0_sample * x + c.x0_model_output * m;
    if (c.clip_x0) x0 = std::clamp(x0, -c.clip_range, c.clip_range);
    double next = c.sample * x + c.model_output * m + c.x0 * x0;
    if (use_noise) next += c.noise * static_cast<double>((*noise)[e]);
    for (size_t k = 0; k < c.history.size() && k < slots; ++k)
      if (c.history[k] != 0.0) next += c.history[k] * static_cast<double>(history_[k][e]);
    for (const HistoryWrite& w : c.writes)
      history_[static_cast<size_t>(w.slot)][e] = static_cast<float>(w.sample * x + w.model_output * m + w.x0 * x0);
    out[e] = static_cast<float>(next);
    x0_[e] = static_cast<float>(x0);
  }
  next_step_ = i + 1;
  return out;
}

std::vector<float> Scheduler::add_noise(const std::vector<float>& x0, const std::vector<float>& noise, float t) const {
  if (x0.size() != noise.size())
    fail_here("add_noise: x0 has " + std::to_string(x0.size()) + " values, the noise " + std::to_string(noise.size()));
  const NoiseCoefficients c = add_noise_coefficients(t);
  std::vector<float> out(x0.size());
  for (size_t e = 0; e < out.size(); ++e)
    out[e] = static_cast<float>(c.x0 * static_cast<double>(x0[e]) + c.noise * static_cast<double>(noise[e]));
  return out;
}

std::unique_ptr<Scheduler> make_scheduler(SchedulerKind kind, const SchedulerConfig& config) {
  switch (kind) {
    case SchedulerKind::DDPM: return std::make_unique<DDPMScheduler>(config);
    case SchedulerKind::DDIM: return std::make_unique<DDIMScheduler>(config);
    case SchedulerKind::PNDM: return std::make_unique<PNDMScheduler>(config);
    case SchedulerKind::Euler: return std::make_unique<EulerScheduler>(config);
    case SchedulerKind::EulerAncestral: return std::make_unique<EulerAncestralScheduler>(config);
    case SchedulerKind::DPMSolverPP2M: return std::make_unique<DPMSolverPP2MScheduler>(config);
    case SchedulerKind::DDIMInverse: return std::make_unique<DDIMInverseScheduler>(config);
    case SchedulerKind::DPMSolverPP2MInverse: return std::make_unique<DPMSolverPP2MInverseScheduler>(config);
  }
  fail("make_scheduler: unknown scheduler kind");
}

}  // namespace ezivk::sched
