#pragma once
// DPM-Solver++ 2M (Lu et al. 2022, multistep, midpoint form) as diffusers' DPMSolverMultistepScheduler with
// algorithm_type "dpmsolver++": data prediction x̂0, λ = log α_t − log σ_t, h = λ_next − λ,
//   first order:  x_next = (σ_next/σ)·x − α_next(e^{−h} − 1)·x̂0
//   second order: x_next = (σ_next/σ)·x − α_next(e^{−h} − 1)·(D0 + D1/2), D0 = x̂0, D1 = (x̂0 − x̂0_prev)/r0,
//                 r0 = h_prev/h.
// The first step is first order, and so is the last when euler_at_final, or lower_order_final with fewer than
// 15 steps, or the final σ is 0 (final_sigmas_type "zero"). solver_order 1 or 2; optional Karras sigmas.
// History slot 0 holds the previous x̂0.
#include <cstdint>
#include <vector>

#include "engine/sched/scheduler.h"

namespace ezivk::sched {

class DPMSolverPP2MScheduler final : public Scheduler {
 public:
  explicit DPMSolverPP2MScheduler(const SchedulerConfig& config);
  void set_timesteps(int n) override;
  int history_slots() const override { return 1; }
  StepCoefficients step_coefficients(int i) const override;
  // diffusers' lookup: the second match when repeated, the last step when t is not in the schedule.
  NoiseCoefficients add_noise_coefficients(float t) const override;
  const std::vector<float>& sigmas() const { return sigmas_; }

 private:
  std::vector<float> sigmas_;
};

// The DPM-Solver++ step shared with the inverse: sigmas[i] to sigmas[i + 1], first or second order.
StepCoefficients dpm_solver_pp_step(PredictionType prediction, const std::vector<float>& sigmas, int i,
                                    bool first_order);
// The schedule index diffusers' DPM-Solver add_noise uses for t.
NoiseCoefficients dpm_solver_add_noise(const std::vector<float>& timesteps, const std::vector<float>& sigmas, float t);
// Error for the DPM-Solver settings this engine does not implement.
void reject_unsupported_dpm_settings(const SchedulerConfig& config, SchedulerKind kind);

}  // namespace ezivk::sched
