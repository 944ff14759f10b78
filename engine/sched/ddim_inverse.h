#pragma once
// DDIM inversion as diffusers' DDIMInverseScheduler: ascending timesteps; step i goes from s = t_i − T/n
// (ᾱ_s; below 0 initial_alpha_cumprod: 1 with set_alpha_to_one, else ᾱ_0) to t_i with ε predicted at t_i:
// x_t = √ᾱ_t·x̂0 + √(1−ᾱ_t)·ε, x̂0 = (x_s − √(1−ᾱ_s)·ε)/√ᾱ_s. Spacing leading or trailing.
#include <cstdint>
#include <vector>

#include "engine/sched/scheduler.h"

namespace ezivk::sched {

class DDIMInverseScheduler final : public Scheduler {
 public:
  explicit DDIMInverseScheduler(const SchedulerConfig& config);
  void set_timesteps(int n) override;
  StepCoefficients step_coefficients(int i) const override;
  // diffusers' inverse class has no add_noise; this is DDIM's, over the same alphas_cumprod.
  NoiseCoefficients add_noise_coefficients(float t) const override;

 private:
  float initial_alpha_cumprod_ = 1.0f;
  int n_ = 0;
  std::vector<int64_t> ts_;
};

}  // namespace ezivk::sched
