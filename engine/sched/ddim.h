#pragma once
// DDIM (Song et al. 2020) as diffusers' DDIMScheduler: x_prev = √ᾱ_prev·x̂0 + √(1−ᾱ_prev−σ²)·ε + σ·z with
// σ = η·√((1−ᾱ_prev)/(1−ᾱ_t)·(1−ᾱ_t/ᾱ_prev)); the previous timestep is t − T/n whatever the spacing, and
// below 0 uses final_alpha_cumprod (1 with set_alpha_to_one, else ᾱ_0).
#include <cstdint>
#include <vector>

#include "engine/sched/scheduler.h"

namespace ezivk::sched {

class DDIMScheduler final : public Scheduler {
 public:
  explicit DDIMScheduler(const SchedulerConfig& config);
  void set_timesteps(int n) override;
  bool needs_noise(int i) const override;
  StepCoefficients step_coefficients(int i) const override;
  NoiseCoefficients add_noise_coefficients(float t) const override;

 private:
  float final_alpha_cumprod_ = 1.0f;
  int n_ = 0;
  std::vector<int64_t> ts_;
};

}  // namespace ezivk::sched
