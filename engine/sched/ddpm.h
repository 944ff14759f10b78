#pragma once
// DDPM (Ho et al. 2020) as diffusers' DDPMScheduler: x_prev = c0·x̂0 + c1·x + σ·z with the posterior mean
// coefficients, noise at every step with t > 0; previous timestep = the next one in the schedule.
#include <cstdint>
#include <vector>

#include "engine/sched/scheduler.h"

namespace ezivk::sched {

class DDPMScheduler final : public Scheduler {
 public:
  explicit DDPMScheduler(const SchedulerConfig& config);
  void set_timesteps(int n) override;
  bool needs_noise(int i) const override;
  StepCoefficients step_coefficients(int i) const override;
  NoiseCoefficients add_noise_coefficients(float t) const override;

 private:
  enum class Variance { FixedSmall, FixedSmallLog, FixedLarge };
  Variance variance_ = Variance::FixedSmall;
  std::vector<int64_t> ts_;
};

}  // namespace ezivk::sched
