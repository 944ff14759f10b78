#pragma once
// PNDM with skip_prk_steps, i.e. PLMS (pseudo linear multistep), as diffusers' PNDMScheduler runs it for
// Stable Diffusion. n steps call the UNet n + 1 times: the second-to-last grid timestep of diffusers'
// ascending grid is repeated so the first step can be corrected. Step 0 is an Euler step from x_T that
// keeps x_T; step 1 restarts from that kept x_T with the average of both model outputs; from then on the
// model outputs (ets) are combined with the Adams–Bashforth weights (3,−1)/2, (23,−16,5)/12,
// (55,−59,37,−9)/24 and fed to the PNDM transfer x_prev = √(ᾱ_p/ᾱ_t)·x − (ᾱ_p−ᾱ_t)·ε/(ᾱ_t√(1−ᾱ_p) +
// √(ᾱ_t(1−ᾱ_t)ᾱ_p)).
//
// History slots: 0..3 hold the last four ets (entry j in slot j mod 4), 4 holds the kept x_T.
#include <cstdint>
#include <vector>

#include "engine/sched/scheduler.h"

namespace ezivk::sched {

class PNDMScheduler final : public Scheduler {
 public:
  explicit PNDMScheduler(const SchedulerConfig& config);
  void set_timesteps(int n) override;
  int history_slots() const override { return 5; }
  // x̂0 at the timestep the UNet saw, from this step's sample and model output (diffusers reports none).
  StepCoefficients step_coefficients(int i) const override;
  NoiseCoefficients add_noise_coefficients(float t) const override;

 private:
  float final_alpha_cumprod_ = 1.0f;
  int ratio_ = 0;
  std::vector<int64_t> ts_;
};

}  // namespace ezivk::sched
