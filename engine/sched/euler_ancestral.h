#pragma once
// Euler ancestral as diffusers' EulerAncestralDiscreteScheduler: the Euler step goes down to
// σ_down = √(σ_next² − σ_up²) and noise of σ_up = √(σ_next²(σ² − σ_next²)/σ²) is added back; σ by linear
// interpolation, final σ 0, no Karras option (diffusers' class has none). Noise is drawn at every step.
#include <vector>

#include "engine/sched/scheduler.h"

namespace ezivk::sched {

class EulerAncestralScheduler final : public Scheduler {
 public:
  explicit EulerAncestralScheduler(const SchedulerConfig& config);
  void set_timesteps(int n) override;
  double init_noise_sigma() const override;
  double model_input_scale(int i) const override;
  bool needs_noise(int i) const override;
  StepCoefficients step_coefficients(int i) const override;
  NoiseCoefficients add_noise_coefficients(float t) const override;
  const std::vector<float>& sigmas() const { return sigmas_; }

 private:
  std::vector<float> sigmas_;
};

}  // namespace ezivk::sched
