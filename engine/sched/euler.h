#pragma once
// Euler (Karras et al. 2022, Algorithm 2 without churn) as diffusers' EulerDiscreteScheduler: σ(t) =
// √((1−ᾱ)/ᾱ) interpolated linearly at the (fractional) timesteps, or Karras' ρ = 7 spacing between the grid's
// end sigmas with the timesteps found back from σ; final σ 0 or σ_min. The UNet sees x/√(σ²+1) and
// x_next = x + (x − x̂0)/σ·(σ_next − σ).
#include <vector>

#include "engine/sched/scheduler.h"

namespace ezivk::sched {

class EulerScheduler final : public Scheduler {
 public:
  explicit EulerScheduler(const SchedulerConfig& config);
  void set_timesteps(int n) override;
  double init_noise_sigma() const override;
  double model_input_scale(int i) const override;
  StepCoefficients step_coefficients(int i) const override;
  // t must be one of timesteps() (diffusers looks its index up; a repeated value takes the second).
  NoiseCoefficients add_noise_coefficients(float t) const override;
  const std::vector<float>& sigmas() const { return sigmas_; }  // num_steps() + 1 values

 private:
  std::vector<float> sigmas_;
};

// Shared with Euler ancestral.
double euler_init_noise_sigma(const std::vector<float>& sigmas, TimestepSpacing spacing);
// The index diffusers' index_for_timestep gives t (second match when repeated); -1 when t is not there.
int index_for_timestep(const std::vector<float>& timesteps, float t);

}  // namespace ezivk::sched
