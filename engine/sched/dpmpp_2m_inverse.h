#pragma once
// DPM-Solver++ 2M run from clean towards noise, as diffusers' DPMSolverMultistepInverseScheduler: ascending
// timesteps up to 999, sigmas ending with σ_max (or, with Karras sigmas, the last Karras σ repeated);
// repeated timesteps are dropped as diffusers drops them. The last step is first order only with
// euler_at_final, or lower_order_final and fewer than 15 steps.
#include <vector>

#include "engine/sched/scheduler.h"

namespace ezivk::sched {

class DPMSolverPP2MInverseScheduler final : public Scheduler {
 public:
  explicit DPMSolverPP2MInverseScheduler(const SchedulerConfig& config);
  void set_timesteps(int n) override;
  int history_slots() const override { return 1; }
  StepCoefficients step_coefficients(int i) const override;
  NoiseCoefficients add_noise_coefficients(float t) const override;
  const std::vector<float>& sigmas() const { return sigmas_; }

 private:
  std::vector<float> sigmas_;
};

}  // namespace ezivk::sched
